/**
 * Dataset listing: which image files make up a run, in a fixed order, with their ground-truth class
 * (standard ImageNet-1k order, or the model's own class indices) where one exists.
 *
 * Ground truth decides the class `c` that every explanation is computed for, so a wrong class
 * order would silently corrupt everything downstream: label files are parsed strictly, and the
 * ImageNet devkit's `ILSVRC2012_validation_ground_truth.txt` (ILSVRC2012_ID order, not the order
 * the models use) is refused with a message saying what to provide instead. Labels are checked
 * against the classes the models know, and images without labels are not dropped silently
 * (METHODS §9).
 */
import { basename, dirname, extname, isAbsolute, join, posix, resolve } from "node:path";

export interface DatasetItem {
  /** Absolute path of the image file. */
  file: string;
  /** The file name relative to the dataset folder (stable key for artifacts). */
  id: string;
  /** Ground-truth class index, or null when the dataset has none for this image. */
  label: number | null;
}

/** An image a lenient listing left out, and why (no file path, so it stays portable). */
export interface SkippedImage {
  /** The file name relative to the dataset folder. */
  id: string;
  /** What is wrong, naming the labels file (by name) and line where there is one. */
  reason: string;
}

export interface Dataset {
  name: string;
  /** Absolute path of the dataset folder: every item's `file` lies inside it. */
  root: string;
  items: DatasetItem[];
  /** Class names by index ("" for an index no row names), or null when unknown. */
  classNames: string[] | null;
  /** Images left out because of their labels (lenient listings only; else always empty). */
  skipped: SkippedImage[];
}

/**
 * How labels are checked. An unknown class (a label at or above the classes known) or an image
 * without a labels row is an error naming the file and line, unless `lenient`: then the image is
 * left out and listed in `Dataset.skipped`.
 */
export interface LabelChecks {
  /** The classes the models know (e.g. their output count): whose they are, for messages. */
  knownClasses?: { count: number; source: string };
  lenient?: boolean;
}

/** The tighter of two class bounds. */
function tighter(
  a: LabelChecks["knownClasses"],
  b: LabelChecks["knownClasses"],
): LabelChecks["knownClasses"] {
  if (!a) return b;
  if (!b) return a;
  return b.count < a.count ? b : a;
}

/** Collects label problems: throws the first when strict, lists them when lenient. */
class LabelProblems {
  readonly skipped: SkippedImage[] = [];
  constructor(readonly lenient: boolean) {}
  /** `error` is the full message (file, line, reason); `reason` the portable one for the list. */
  add(id: string, error: string, reason: string): void {
    if (!this.lenient) throw new Error(error);
    this.skipped.push({ id, reason });
  }
}

export interface ClassInfo {
  index: number;
  wnid: string;
  name: string;
}

/** One record of a delimited text file, with the 1-based line it starts on. */
interface Row {
  line: number;
  fields: string[];
}

/** Parses CSV (RFC 4180 quotes) or TSV text into rows; blank lines are skipped. */
function parseDelimited(text: string, delimiter: string, where: string): Row[] {
  const rows: Row[] = [];
  let fields: string[] = [], field = "", quoted = false, atFieldStart = true;
  let line = 1, rowLine = 1;
  const endRow = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0].trim() === "")) rows.push({ line: rowLine, fields });
    fields = [];
    field = "";
    atFieldStart = true;
  };
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === "\n") line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && atFieldStart && delimiter === ",") {
      quoted = true;
      atFieldStart = false;
    } else if (ch === delimiter) {
      fields.push(field);
      field = "";
      atFieldStart = true;
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      field += ch;
      atFieldStart = false;
    }
  }
  if (quoted) throw new Error(`${where}: line ${rowLine}: unterminated quoted field`);
  if (field !== "" || fields.length > 0) endRow();
  return rows;
}

function readText(path: string, what: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${path}: ${what} not found`);
    throw new Error(`${path}: cannot read ${what}: ${(e as Error).message}`);
  }
}

/** `.tsv` / `.tab` → tab, `.csv` → comma, otherwise a tab in the first line decides. */
function delimiterOf(path: string, text: string): string {
  const ext = extname(path).toLowerCase();
  if (ext === ".tsv" || ext === ".tab") return "\t";
  if (ext === ".csv") return ",";
  const first = text.split(/\r?\n/, 1)[0];
  return first.includes("\t") ? "\t" : ",";
}

/** A table with a header row: column lookup by any of several names, rows checked for width. */
function readTable(path: string, what: string) {
  const text = readText(path, what);
  const rows = parseDelimited(text, delimiterOf(path, text), path);
  if (rows.length === 0) throw new Error(`${path}: ${what} is empty`);
  const header = rows[0].fields.map((h) => h.trim().toLowerCase());
  const column = (names: readonly string[], required: boolean): number => {
    for (const n of names) {
      const i = header.indexOf(n);
      if (i >= 0) return i;
    }
    if (required) {
      throw new Error(
        `${path}: line ${rows[0].line}: no ${names[0]} column in the header (expected one of ${
          names.join(", ")
        })`,
      );
    }
    return -1;
  };
  const body = rows.slice(1);
  for (const r of body) {
    if (r.fields.length !== header.length) {
      throw new Error(
        `${path}: line ${r.line}: malformed row, ${r.fields.length} fields where the header ` +
          `has ${header.length}`,
      );
    }
  }
  return { header, body, column };
}

/**
 * Parses a class index: a non-negative integer, else an error naming file and line (not the value:
 * errors never echo a file's contents).
 */
function parseIndex(value: string, path: string, line: number, what = "label"): number {
  const v = value.trim();
  if (!/^\d+$/.test(v)) {
    throw new Error(`${path}: line ${line}: ${what} is not a non-negative integer`);
  }
  return Number(v);
}

/**
 * Reads a class list (CSV/TSV with columns class_index|index, wnid, name, such as
 * ../shared/data/imagenet-classes.tsv): indices must be exactly 0..n-1.
 */
export function loadClassList(path: string): ClassInfo[] {
  const { body, column } = readTable(path, "class list");
  const ci = column(["class_index", "index", "label"], true);
  const wi = column(["wnid"], false);
  const ni = column(["name", "class_name"], true);
  const out: ClassInfo[] = [];
  for (const r of body) {
    const index = parseIndex(r.fields[ci], path, r.line, "class index");
    if (out[index]) throw new Error(`${path}: line ${r.line}: class index ${index} appears twice`);
    out[index] = { index, wnid: wi >= 0 ? r.fields[wi].trim() : "", name: r.fields[ni].trim() };
  }
  for (let i = 0; i < out.length; i++) {
    if (!out[i]) throw new Error(`${path}: class index ${i} is missing (indices must be 0..n-1)`);
  }
  return out;
}

export interface FolderOptions extends LabelChecks {
  /** Dataset name; default: the name of the folder holding the labels file. */
  name?: string;
  /** A class list (see `loadClassList`) giving every class name; else the name column is used. */
  classes?: string;
  /** Take the first N rows of the labels file; omitted: all. */
  first?: number;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** File name extensions of images (any case): what a dataset folder's images are told by. */
const IMAGE_EXTENSIONS = new Set([
  ".png",
  ".jpg",
  ".jpeg",
  ".jpe",
  ".jfif",
  ".webp",
  ".gif",
  ".tif",
  ".tiff",
  ".bmp",
  ".avif",
  ".heic",
  ".heif",
]);

/**
 * Image files under `root`, as sorted `/`-separated paths relative to it. Hidden files and folders
 * (a leading `.`) are passed over, and symlinked folders are not followed (no cycles); symlinked
 * files count.
 */
export function imageFilesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.name.startsWith(".")) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) walk(join(dir, e.name), r);
      else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) {
        if (e.isFile || exists(join(dir, e.name))) out.push(r);
      }
    }
  };
  try {
    walk(root, "");
  } catch (e) {
    throw new Error(`${root}: cannot list the dataset folder: ${(e as Error).message}`);
  }
  return out.sort();
}

/**
 * A labels row's file name as a `/`-separated path inside the dataset folder, or null when it
 * names a place outside it (absolute, or climbing out with `..`): keys name dataset files relative
 * to the folder, and a dataset reads nothing outside it.
 */
function insideName(name: string): string | null {
  const n = posix.normalize(name.replaceAll("\\", "/"));
  if (isAbsolute(n) || /^[A-Za-z]:/.test(n) || n === ".." || n.startsWith("../")) return null;
  return n.replace(/^\.\//, "");
}

/**
 * Fails, naming the folder, when the images folder is missing or not a folder: otherwise every
 * labels row would look wrong, and the error would blame the labels file's line 2.
 */
function checkImagesFolder(dir: string, root: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(root);
  } catch (e) {
    throw new Error(
      e instanceof Deno.errors.NotFound
        ? `${dir}: the images folder does not exist`
        : `${dir}: cannot read the images folder (${(e as Error).message})`,
    );
  }
  if (!info.isDirectory) throw new Error(`${dir}: the images folder is not a folder`);
}

/** `first` checked: a positive integer or absent. */
function checkFirst(first: number | undefined, who: string): void {
  if (first !== undefined && !(Number.isInteger(first) && first > 0)) {
    throw new Error(`${who}: first must be a positive integer, got ${first}`);
  }
}

/**
 * Images listed in a labels file (CSV or TSV, with a header): a file column (`file`, `filename` or
 * `image`, relative to `dir` and inside it), a label column (`label`, `class_index` or `class`: an
 * integer; an empty cell means unlabelled) and optionally a name column (`class_name` or `name`).
 * Items keep the file's order. Fits data/fashion-sample/labels.csv and
 * ../shared/data/imagenet-sample/labels.tsv.
 *
 * The whole file is checked for its form (malformed rows, files listed twice, files missing or
 * outside `dir`); labels are checked on the rows used (the first N) against the class list and
 * `classes`; and every image file in `dir` needs a row (see `LabelChecks` for what a problem does).
 */
export function listFolderWithLabels(
  dir: string,
  labelsFile: string,
  options: FolderOptions = {},
): Dataset {
  checkFirst(options.first, "listFolderWithLabels");
  const root = resolve(dir);
  checkImagesFolder(dir, root);
  const labelsName = basename(labelsFile);
  const { body, column } = readTable(labelsFile, "labels file");
  const fi = column(["file", "filename", "image"], true);
  const li = column(["label", "class_index", "class"], true);
  const ni = column(["class_name", "name"], false);
  const rows: (DatasetItem & { line: number })[] = [];
  const seen = new Map<string, number>();
  const names: string[] = [];
  const nameLine: number[] = [];
  for (const r of body) {
    const written = r.fields[fi].trim();
    if (written === "") throw new Error(`${labelsFile}: line ${r.line}: empty file name`);
    const id = insideName(written);
    if (id === null) {
      throw new Error(
        `${labelsFile}: line ${r.line}: file "${written}" is outside the dataset folder ${root} ` +
          "(file names must be relative to it and stay inside it)",
      );
    }
    const first = seen.get(id);
    if (first !== undefined) {
      throw new Error(
        `${labelsFile}: line ${r.line}: file "${id}" is listed twice (also line ${first})`,
      );
    }
    seen.set(id, r.line);
    const file = join(root, id);
    if (!exists(file)) {
      throw new Error(
        `${labelsFile}: line ${r.line}: unknown file "${id}" (no such file in ${root})`,
      );
    }
    const cell = r.fields[li];
    const label = cell.trim() === "" ? null : parseIndex(cell, labelsFile, r.line);
    if (ni >= 0 && label !== null) {
      const name = r.fields[ni].trim();
      if (names[label] !== undefined && names[label] !== name) {
        throw new Error(
          `${labelsFile}: line ${r.line}: class ${label} is named differently here than on line ${
            nameLine[label]
          }`,
        );
      }
      names[label] = name;
      nameLine[label] = r.line;
    }
    rows.push({ file, id, label, line: r.line });
  }
  let classNames: string[] | null = null;
  let bound = options.knownClasses;
  if (options.classes) {
    classNames = loadClassList(options.classes).map((c) => c.name);
    bound = tighter({ count: classNames.length, source: options.classes }, bound);
  } else if (ni >= 0) classNames = Array.from(names, (n) => n ?? "");
  const problems = new LabelProblems(options.lenient ?? false);
  const items: DatasetItem[] = [];
  for (const { line, ...item } of rows.slice(0, options.first)) {
    if (bound && item.label !== null && item.label >= bound.count) {
      const what = `label ${item.label} is outside the ${bound.count} classes of ${bound.source}`;
      problems.add(
        item.id,
        `${labelsFile}: line ${line}: ${what}`,
        `${labelsName} line ${line}: ${what}`,
      );
    } else items.push(item);
  }
  const unlisted = imageFilesUnder(root).filter((f) => !seen.has(f));
  if (unlisted.length > 0 && !options.lenient) {
    const shown = unlisted.slice(0, 5).map((f) => `"${f}"`).join(", ");
    throw new Error(
      `${labelsFile}: no row for ${unlisted.length} image file${
        unlisted.length === 1 ? "" : "s"
      } in ${root}: ${shown}${unlisted.length > 5 ? `, and ${unlisted.length - 5} more` : ""}`,
    );
  }
  for (const f of unlisted) problems.add(f, "", `no row in ${labelsName}`);
  return {
    name: options.name ?? basename(dirname(resolve(labelsFile))),
    root,
    items,
    classNames,
    skipped: problems.skipped,
  };
}

export interface ImagenetValOptions extends LabelChecks {
  /**
   * Labels: Caffe's `val.txt` (`ILSVRC2012_val_00000001.JPEG 65`, standard class indices) or
   * Kaggle's `LOC_val_solution.csv` (WordNet ids; needs `classes`). Omitted: labels are null.
   */
  labels?: string;
  /** Take the first N files by file name; omitted: all. */
  first?: number;
  /** Class list mapping WordNet ids to standard indices and giving class names. */
  classes?: string;
  name?: string;
}

const valFile = /^ILSVRC2012_val_\d{8}\.JPEG$/i;

/** Which label file this is, from its first lines. */
function valLabelFormat(text: string): "caffe" | "kaggle" | "devkit" | "unknown" {
  const lines = text.replace(/^\ufeff/, "").split(/\r?\n/).filter((l) => l.trim() !== "")
    .slice(0, 20);
  if (lines.length === 0) return "unknown";
  if (/^imageid\s*,\s*predictionstring\s*$/i.test(lines[0].trim())) return "kaggle";
  if (lines.every((l) => /^\s*\d+\s*$/.test(l))) return "devkit";
  if (lines.every((l) => /^\s*\S+\.jpe?g\s+\d+\s*$/i.test(l))) return "caffe";
  return "unknown";
}

/**
 * The ImageNet validation folder (`ILSVRC2012_val_*.JPEG`), sorted by file name, optionally the
 * first N, with labels from `val.txt` or `LOC_val_solution.csv` (see `ImagenetValOptions`). Each
 * image used needs a label line with a known class (see `LabelChecks`).
 */
export function listImagenetVal(dir: string, options: ImagenetValOptions = {}): Dataset {
  const root = resolve(dir);
  let names: string[];
  try {
    names = [...Deno.readDirSync(root)].filter((e) => e.isFile && valFile.test(e.name))
      .map((e) => e.name).sort();
  } catch (e) {
    throw new Error(`${root}: cannot list the ImageNet validation folder: ${(e as Error).message}`);
  }
  if (names.length === 0) throw new Error(`${root}: no ILSVRC2012_val_*.JPEG files`);
  checkFirst(options.first, "listImagenetVal");
  if (options.first !== undefined) {
    if (options.first > names.length) {
      throw new Error(
        `${root}: asked for the first ${options.first} images but the folder holds only ` +
          `${names.length}`,
      );
    }
    names = names.slice(0, options.first);
  }
  const classes = options.classes ? loadClassList(options.classes) : null;
  const labels = options.labels;
  const labelOf = labels ? readValLabels(labels, classes, options.classes) : null;
  const bound = tighter(
    classes
      ? { count: classes.length, source: options.classes! }
      : { count: 1000, source: "ImageNet-1k" },
    options.knownClasses,
  )!;
  const problems = new LabelProblems(options.lenient ?? false);
  const items: DatasetItem[] = [];
  for (const id of names) {
    let label: number | null = null;
    if (labels && labelOf) {
      const l = labelOf.get(id.replace(/\.jpe?g$/i, "").toUpperCase());
      const at = l && `line ${l.line}`;
      if (l === undefined) {
        problems.add(id, `${labels}: no label for ${id}`, `no label in ${basename(labels)}`);
        continue;
      }
      if (l.problem !== undefined) {
        problems.add(
          id,
          `${labels}: ${at}: ${l.problem}`,
          `${basename(labels)} ${at}: ${l.problem}`,
        );
        continue;
      }
      if (l.label >= bound.count) {
        const what = `label ${l.label} is outside the ${bound.count} classes of ${bound.source}`;
        problems.add(id, `${labels}: ${at}: ${what}`, `${basename(labels)} ${at}: ${what}`);
        continue;
      }
      label = l.label;
    }
    items.push({ file: join(root, id), id, label });
  }
  return {
    name: options.name ?? "imagenet-val",
    root,
    items,
    classNames: classes ? classes.map((c) => c.name) : null,
    skipped: problems.skipped,
  };
}

/** A label line: its class index, or what is wrong with it (an unknown WordNet id). */
type ValLabel = { line: number; label: number; problem?: undefined } | {
  line: number;
  label?: undefined;
  problem: string;
};

/** Image stem (upper case, no extension) → its label line. */
function readValLabels(
  path: string,
  classes: ClassInfo[] | null,
  classesPath?: string,
): Map<string, ValLabel> {
  const text = readText(path, "labels file");
  const format = valLabelFormat(text);
  const out = new Map<string, ValLabel>();
  if (format === "devkit") {
    throw new Error(
      `${path}: this is the devkit's ILSVRC2012_validation_ground_truth.txt, whose labels are ` +
        "1-based ILSVRC2012_IDs in the devkit's own class order, not the standard order the " +
        "models use. Provide Caffe's val.txt (lines like 'ILSVRC2012_val_00000001.JPEG 65') or " +
        "Kaggle's LOC_val_solution.csv together with a class list (e.g. " +
        "../shared/data/imagenet-classes.tsv).",
    );
  }
  if (format === "caffe") {
    text.split(/\r?\n/).forEach((l, i) => {
      if (l.trim() === "") return;
      const m = /^\s*(\S+?)\.jpe?g\s+(\S+)\s*$/i.exec(l);
      if (!m) {
        throw new Error(`${path}: line ${i + 1}: malformed row (expected "FILE.JPEG LABEL")`);
      }
      out.set(m[1].toUpperCase(), { line: i + 1, label: parseIndex(m[2], path, i + 1) });
    });
    return out;
  }
  if (format === "kaggle") {
    if (!classes) {
      throw new Error(
        `${path}: Kaggle's LOC_val_solution.csv names classes by WordNet id; pass classes ` +
          "(a class list of class_index, wnid, name such as " +
          "../shared/data/imagenet-classes.tsv) to map them",
      );
    }
    const byWnid = new Map(classes.map((c) => [c.wnid, c.index]));
    const { body, column } = readTable(path, "labels file");
    const ii = column(["imageid"], true), pi = column(["predictionstring"], true);
    for (const r of body) {
      const index = byWnid.get(r.fields[pi].trim().split(/\s+/)[0]);
      out.set(
        r.fields[ii].trim().toUpperCase(),
        index === undefined
          ? { line: r.line, problem: `its WordNet id is not in the class list ${classesPath}` }
          : { line: r.line, label: index },
      );
    }
    return out;
  }
  throw new Error(
    `${path}: unrecognised labels format; expected Caffe's val.txt ` +
      "('ILSVRC2012_val_00000001.JPEG 65') " +
      "or Kaggle's LOC_val_solution.csv (header ImageId,PredictionString)",
  );
}
