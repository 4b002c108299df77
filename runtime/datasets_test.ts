import assert from "node:assert/strict";
import { join } from "node:path";
import {
  imageFilesUnder,
  listFolderWithLabels,
  listImagenetVal,
  loadClassList,
} from "./datasets.ts";

const SHARED = new URL("../../shared/data/", import.meta.url).pathname;
const SAMPLE = join(SHARED, "imagenet-sample");
const CLASSES = join(SHARED, "imagenet-classes.tsv");
const haveSample = (() => {
  try {
    return Deno.statSync(join(SAMPLE, "labels.tsv")).isFile && Deno.statSync(CLASSES).isFile;
  } catch {
    return false;
  }
})();
if (!haveSample) {
  console.warn(`datasets_test: ${SHARED} missing, skipping the imagenet-sample test`);
}

function withTemp(f: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "xcompare-datasets-" });
    try {
      await f(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

function touch(dir: string, ...names: string[]) {
  for (const n of names) {
    Deno.mkdirSync(join(dir, n, ".."), { recursive: true });
    Deno.writeFileSync(join(dir, n), new Uint8Array([0]));
  }
}

const rejects = (f: () => unknown, ...parts: string[]) =>
  assert.throws(f, (e: Error) => {
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  });

Deno.test(
  "fashion-sample layout: labels.csv with file,label,class_name",
  withTemp((dir) => {
    const root = join(dir, "fashion-sample");
    touch(root, "images/000.png", "images/001.png", "images/002.png");
    Deno.writeTextFileSync(
      join(root, "labels.csv"),
      "file,label,class_name\nimages/000.png,9,ankle boot\r\nimages/001.png,0,T-shirt/top\n" +
        'images/002.png,9,"ankle boot"\n\n',
    );
    const ds = listFolderWithLabels(root, join(root, "labels.csv"));
    assert.equal(ds.name, "fashion-sample");
    assert.deepEqual(ds.items, [
      { file: join(root, "images/000.png"), id: "images/000.png", label: 9 },
      { file: join(root, "images/001.png"), id: "images/001.png", label: 0 },
      { file: join(root, "images/002.png"), id: "images/002.png", label: 9 },
    ]);
    assert.equal(ds.classNames?.length, 10);
    assert.equal(ds.classNames?.[0], "T-shirt/top");
    assert.equal(ds.classNames?.[9], "ankle boot");
    assert.equal(ds.classNames?.[4], "");
  }),
);

Deno.test(
  "header variants, quoted names, TSV detected from the header, empty label = unlabelled",
  withTemp((dir) => {
    touch(dir, "a.jpg", "b.jpg");
    Deno.writeTextFileSync(
      join(dir, "l.csv"),
      'filename,class,name\na.jpg,134,"crane, bird"\nb.jpg,517,"crane ""machine"""\n',
    );
    const ds = listFolderWithLabels(dir, join(dir, "l.csv"), { name: "mine" });
    assert.equal(ds.name, "mine");
    assert.equal(ds.classNames?.[134], "crane, bird");
    assert.equal(ds.classNames?.[517], 'crane "machine"');
    Deno.writeTextFileSync(join(dir, "labels.txt"), "image\tclass_index\na.jpg\t3\nb.jpg\t\n");
    const t = listFolderWithLabels(dir, join(dir, "labels.txt"));
    assert.deepEqual(t.items.map((i) => i.label), [3, null]);
    assert.equal(t.classNames, null);
  }),
);

Deno.test(
  "labels file errors name the file and line",
  withTemp((dir) => {
    touch(dir, "a.jpg", "b.jpg");
    const write = (text: string) => {
      const p = join(dir, "labels.csv");
      Deno.writeTextFileSync(p, text);
      return p;
    };
    let p = write("file,label\na.jpg,1\nb.jpg\n");
    rejects(() => listFolderWithLabels(dir, p), p, "line 3", "malformed row");
    p = write("file,label\na.jpg,1\nc.jpg,2\n");
    rejects(() => listFolderWithLabels(dir, p), p, "line 3", 'unknown file "c.jpg"');
    p = write("file,label\na.jpg,cat\n");
    rejects(() => listFolderWithLabels(dir, p), p, "line 2", "label is not a non-negative integer");
    p = write("file,label\na.jpg,-1\n");
    rejects(() => listFolderWithLabels(dir, p), "line 2", "not a non-negative integer");
    p = write("file,label\na.jpg,1.5\n");
    rejects(() => listFolderWithLabels(dir, p), "line 2", "not a non-negative integer");
    p = write("path,label\na.jpg,1\n");
    rejects(
      () => listFolderWithLabels(dir, p),
      p,
      "line 1",
      "no file column",
      "file, filename, image",
    );
    p = write("file,score\na.jpg,1\n");
    rejects(() => listFolderWithLabels(dir, p), "no label column", "class_index");
    p = write("file,label\na.jpg,1\na.jpg,1\n");
    rejects(() => listFolderWithLabels(dir, p), "line 3", "listed twice", "line 2");
    p = write("file,label,class_name\na.jpg,1,cat\nb.jpg,1,dog\n");
    rejects(() => listFolderWithLabels(dir, p), "line 3", "class 1 is named differently", "line 2");
    p = write('file,label,class_name\na.jpg,1,"cat\n');
    rejects(() => listFolderWithLabels(dir, p), p, "unterminated");
    rejects(
      () => listFolderWithLabels(dir, join(dir, "none.csv")),
      "none.csv: labels file not found",
    );
  }),
);

/** Asserts that an error never carries `secret`, the contents of some file. */
const lacks = (f: () => unknown, secret: string, ...parts: string[]) =>
  assert.throws(f, (e: Error) => {
    assert.ok(!e.message.includes(secret), `"${e.message}" echoes file contents`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  });

Deno.test(
  "labels rows stay inside the dataset folder, and no error echoes a file's contents",
  withTemp((dir) => {
    const root = join(dir, "data");
    touch(root, "a.png");
    const secret = join(dir, "secret.txt");
    Deno.writeTextFileSync(secret, "hunter2-top-secret\tline\n");
    const p = join(root, "labels.csv");
    for (const name of ["/etc/passwd", secret, "../secret.txt", "sub/../../secret.txt"]) {
      Deno.writeTextFileSync(p, `file,label\na.png,1\n${name},2\n`);
      lacks(() => listFolderWithLabels(root, p), "hunter2", p, "line 3", "outside the dataset");
    }
    // A labels file that is not one (here a file of secrets) is refused without quoting it.
    lacks(() => listFolderWithLabels(root, secret), "hunter2", secret, "no file column");
    lacks(() => listImagenetVal(root, { labels: secret }), "hunter2");
    lacks(() => loadClassList(secret), "hunter2", secret, "no class_index column");
    Deno.writeTextFileSync(p, "file,label\na.png,hunter2\n");
    lacks(() => listFolderWithLabels(root, p), "hunter2", "line 2", "not a non-negative integer");
    // "./a.png" is a.png: listing it twice is caught.
    Deno.writeTextFileSync(p, "file,label\na.png,1\n./a.png,1\n");
    rejects(() => listFolderWithLabels(root, p), "line 3", 'file "a.png" is listed twice');
  }),
);

Deno.test(
  "an unknown class or an image without a row is an error naming line or file; lenient lists it",
  withTemp((dir) => {
    touch(dir, "a.png", "b.png", "c.png", "sub/d.PNG", ".hidden.png", ".git/x.png", "notes.txt");
    const p = join(dir, "labels.csv");
    const model = { count: 10, source: "model cnn-bn" };
    Deno.writeTextFileSync(p, "file,label\na.png,1\nb.png,12\nc.png,\n");
    rejects(
      () => listFolderWithLabels(dir, p, { knownClasses: model }),
      p,
      "line 3",
      "label 12 is outside the 10 classes of model cnn-bn",
    );
    Deno.writeTextFileSync(p, "file,label\na.png,1\nb.png,2\nc.png,\n");
    rejects(
      () => listFolderWithLabels(dir, p, { knownClasses: model }),
      p,
      "no row for 1 image file",
      '"sub/d.PNG"',
    );
    Deno.writeTextFileSync(p, "file,label\na.png,1\nb.png,12\nc.png,\n");
    const ds = listFolderWithLabels(dir, p, { knownClasses: model, lenient: true });
    assert.deepEqual(ds.items.map((i) => [i.id, i.label]), [["a.png", 1], ["c.png", null]]);
    assert.deepEqual(ds.skipped, [
      {
        id: "b.png",
        reason: "labels.csv line 3: label 12 is outside the 10 classes of model cnn-bn",
      },
      { id: "sub/d.PNG", reason: "no row in labels.csv" },
    ]);
    assert.equal(ds.root, dir);
    // Labels are checked on the rows used: with first 1, b.png's class does not matter.
    const one = listFolderWithLabels(dir, p, { knownClasses: model, lenient: true, first: 1 });
    assert.deepEqual(one.items.map((i) => i.id), ["a.png"]);
    assert.deepEqual(one.skipped.map((s) => s.id), ["sub/d.PNG"]);
    // A class list bounds labels too, and the tighter bound names itself.
    const classes = join(dir, "classes.tsv");
    Deno.writeTextFileSync(classes, "class_index\tname\n0\tzero\n1\tone\n");
    const listed = listFolderWithLabels(dir, p, { classes, knownClasses: model, lenient: true });
    assert.match(listed.skipped[0].reason, /outside the 2 classes of .*classes\.tsv/);
  }),
);

Deno.test(
  "image files under a folder: nested, any case, hidden ones and other files passed over",
  withTemp((dir) => {
    touch(dir, "b.JPG", "a/c.webp", ".x/d.png", "e.txt", "a/.f.png");
    Deno.symlinkSync(join(dir, "b.JPG"), join(dir, "link.png"));
    Deno.symlinkSync(join(dir, "nowhere.png"), join(dir, "dangling.png"));
    assert.deepEqual(imageFilesUnder(dir), ["a/c.webp", "b.JPG", "link.png"]);
  }),
);

Deno.test(
  "ImageNet val: a missing label line or an unknown class is an error, lenient skips and lists",
  withTemp((dir) => {
    const val = join(dir, "val");
    const ids = [1, 2, 3].map((i) => `ILSVRC2012_val_0000000${i}.JPEG`);
    touch(val, ...ids);
    const caffe = join(dir, "val.txt");
    Deno.writeTextFileSync(caffe, `${ids[0]} 5\n${ids[1]} 999\n`);
    const model = { count: 100, source: "model m" };
    rejects(
      () => listImagenetVal(val, { labels: caffe, knownClasses: model }),
      "line 2",
      "model m",
    );
    rejects(() => listImagenetVal(val, { labels: caffe }), caffe, `no label for ${ids[2]}`);
    const ds = listImagenetVal(val, { labels: caffe, knownClasses: model, lenient: true });
    assert.deepEqual(ds.items.map((i) => i.label), [5]);
    assert.deepEqual(ds.skipped, [
      { id: ids[1], reason: "val.txt line 2: label 999 is outside the 100 classes of model m" },
      { id: ids[2], reason: "no label in val.txt" },
    ]);
  }),
);

Deno.test(
  "a labelled folder that is missing or a file is named, not the labels file's first row",
  withTemp((dir) => {
    const labels = join(dir, "labels.csv");
    Deno.writeTextFileSync(labels, "file,label\na.png,0\n");
    const missing = join(dir, "nodir");
    rejects(
      () => listFolderWithLabels(missing, labels),
      `${missing}: the images folder does not exist`,
    );
    rejects(
      () => listFolderWithLabels(labels, labels),
      `${labels}: the images folder is not a folder`,
    );
  }),
);

Deno.test(
  "class lists load and check their indices",
  withTemp((dir) => {
    const p = join(dir, "classes.tsv");
    Deno.writeTextFileSync(p, "class_index\twnid\tname\n1\tn2\tgoldfish\n0\tn1\ttench\n");
    assert.deepEqual(loadClassList(p), [
      { index: 0, wnid: "n1", name: "tench" },
      { index: 1, wnid: "n2", name: "goldfish" },
    ]);
    Deno.writeTextFileSync(p, "class_index\twnid\tname\n0\tn1\ttench\n2\tn3\tshark\n");
    rejects(() => loadClassList(p), p, "class index 1 is missing");
    touch(dir, "a.jpg");
    Deno.writeTextFileSync(join(dir, "l.csv"), "file,label\na.jpg,5\n");
    Deno.writeTextFileSync(p, "class_index\twnid\tname\n0\tn1\ttench\n");
    rejects(
      () => listFolderWithLabels(dir, join(dir, "l.csv"), { classes: p }),
      "line 2",
      "label 5 is outside the 1 classes",
    );
  }),
);

Deno.test(
  "ImageNet val folder: first N by file name, Caffe val.txt and Kaggle LOC labels",
  withTemp((dir) => {
    const val = join(dir, "val");
    const ids = [6, 2, 5, 1, 4, 3].map((i) => `ILSVRC2012_val_${String(i).padStart(8, "0")}.JPEG`);
    touch(val, ...ids, "README.txt", "ILSVRC2012_val_x.JPEG");
    const caffe = join(dir, "val.txt");
    Deno.writeTextFileSync(
      caffe,
      ids.map((id, k) => `${id} ${[65, 970, 230, 809, 516, 57][k]}`).join("\n"),
    );
    const ds = listImagenetVal(val, { labels: caffe, first: 3 });
    assert.equal(ds.name, "imagenet-val");
    assert.deepEqual(
      ds.items.map((i) => i.id),
      [1, 2, 3].map((i) => `ILSVRC2012_val_0000000${i}.JPEG`),
    );
    assert.deepEqual(ds.items.map((i) => i.label), [809, 970, 57]);
    assert.equal(ds.items[0].file, join(val, "ILSVRC2012_val_00000001.JPEG"));
    assert.equal(ds.classNames, null);
    // Without labels: all six, unlabelled.
    const all = listImagenetVal(val);
    assert.equal(all.items.length, 6);
    assert.ok(all.items.every((i) => i.label === null));

    const classes = join(dir, "classes.tsv");
    Deno.writeTextFileSync(
      classes,
      "class_index\twnid\tname\n0\tn01440764\ttench\n1\tn01443537\tgoldfish\n",
    );
    const kaggle = join(dir, "LOC_val_solution.csv");
    Deno.writeTextFileSync(
      kaggle,
      "ImageId,PredictionString\n" +
        "ILSVRC2012_val_00000002,n01443537 10 20 30 40 n01443537 1 2 3 4\n" +
        "ILSVRC2012_val_00000001,n01440764 5 6 7 8\n",
    );
    const k = listImagenetVal(val, { labels: kaggle, classes, first: 2 });
    assert.deepEqual(k.items.map((i) => i.label), [0, 1]);
    assert.deepEqual(k.classNames, ["tench", "goldfish"]);
    rejects(
      () => listImagenetVal(val, { labels: kaggle, first: 2 }),
      kaggle,
      "WordNet id",
      "classes",
    );
    rejects(
      () => listImagenetVal(val, { labels: kaggle, classes, first: 3 }),
      kaggle,
      "no label for ILSVRC2012_val_00000003.JPEG",
    );
  }),
);

Deno.test(
  "ImageNet val errors: devkit ground truth refused, too few files, bad formats",
  withTemp((dir) => {
    const val = join(dir, "val");
    touch(val, "ILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_00000002.JPEG");
    const devkit = join(dir, "ILSVRC2012_validation_ground_truth.txt");
    Deno.writeTextFileSync(devkit, "490\n361\n");
    rejects(
      () => listImagenetVal(val, { labels: devkit }),
      devkit,
      "ILSVRC2012_ID",
      "val.txt",
      "LOC_val_solution.csv",
    );
    rejects(() => listImagenetVal(val, { first: 3 }), "first 3", "only 2");
    rejects(() => listImagenetVal(val, { first: 0 }), "positive integer");
    rejects(() => listImagenetVal(dir), dir, "no ILSVRC2012_val_*.JPEG");
    const odd = join(dir, "odd.txt");
    Deno.writeTextFileSync(odd, "hello world\n");
    rejects(() => listImagenetVal(val, { labels: odd }), odd, "unrecognised labels format");
    const caffe = join(dir, "val.txt");
    Deno.writeTextFileSync(
      caffe,
      "ILSVRC2012_val_00000001.JPEG 1000\nILSVRC2012_val_00000002.JPEG 3\n",
    );
    rejects(
      () => listImagenetVal(val, { labels: caffe }),
      caffe,
      "line 1",
      "outside the 1000 classes",
    );
  }),
);

Deno.test({
  name: "../shared/data/imagenet-sample/labels.tsv loads with listFolderWithLabels",
  ignore: !haveSample,
  fn: () => {
    const ds = listFolderWithLabels(join(SAMPLE, "images"), join(SAMPLE, "labels.tsv"));
    assert.equal(ds.name, "imagenet-sample");
    assert.equal(ds.items.length, 300);
    assert.deepEqual(ds.items[0], {
      file: join(SAMPLE, "images", "n01440764_tench.JPEG"),
      id: "n01440764_tench.JPEG",
      label: 0,
    });
    assert.ok(ds.items.every((i) => i.label !== null && [0, 3, 6].includes(i.label % 10)));
    assert.equal(ds.classNames?.[0], "tench");
    // With the full class list every name is known and agrees with the file's own names.
    const full = listFolderWithLabels(join(SAMPLE, "images"), join(SAMPLE, "labels.tsv"), {
      classes: CLASSES,
    });
    assert.equal(full.classNames?.length, 1000);
    for (const it of ds.items) assert.equal(full.classNames![it.label!], ds.classNames![it.label!]);
  },
});
