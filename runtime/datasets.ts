/**
 * Dataset listing: which image files make up a run, in a fixed order, with their ground-truth class
 * (standard ImageNet-1k order, or the model's own class indices) where one exists.
 *
 * Ground truth decides the class `c` that every explanation is computed for, so a wrong class
 * order would silently corrupt everything downstream: label files are parsed strictly, and the
 * ImageNet devkit's `ILSVRC2012_validation_ground_truth.txt` (ILSVRC2012_ID order, not the order
 * the models use) is refused with a message saying what to provide instead.
 */
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";

export interface DatasetItem {
  /** Absolute path of the image file. */
  file: string;
  /** The file name relative to the dataset folder (stable key for artifacts). */
  id: string;
  /** Ground-truth class index, or null when the dataset has none for this image. */
  label: number | null;
}

export interface Dataset {
  name: string;
  items: DatasetItem[];
  /** Class names by index ("" for an index no row names), or null when unknown. */
  classNames: string[] | null;
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
        `${path}: line ${rows[0].line}: no ${names[0]} column (expected one of ${
          names.join(", ")
        }; the header has ${header.join(", ")})`,
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

/** Parses a class index: a non-negative integer, else an error naming file and line. */
function parseIndex(value: string, path: string, line: number, what = "label"): number {
  const v = value.trim();
  if (!/^\d+$/.test(v)) {
    throw new Error(`${path}: line ${line}: ${what} "${value}" is not a non-negative integer`);
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

export interface FolderOptions {
  /** Dataset name; default: the name of the folder holding the labels file. */
  name?: string;
  /** A class list (see `loadClassList`) giving every class name; else the name column is used. */
  classes?: string;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Images listed in a labels file (CSV or TSV, with a header): a file column (`file`, `filename` or
 * `image`, relative to `dir`), a label column (`label`, `class_index` or `class`: an integer; an
 * empty cell means unlabelled) and optionally a name column (`class_name` or `name`). Items keep
 * the file's order. Fits data/fashion-sample/labels.csv and
 * ../shared/data/imagenet-sample/labels.tsv.
 */
export function listFolderWithLabels(
  dir: string,
  labelsFile: string,
  options: FolderOptions = {},
): Dataset {
  const root = resolve(dir);
  const { body, column } = readTable(labelsFile, "labels file");
  const fi = column(["file", "filename", "image"], true);
  const li = column(["label", "class_index", "class"], true);
  const ni = column(["class_name", "name"], false);
  const items: DatasetItem[] = [];
  const seen = new Map<string, number>();
  const names: string[] = [];
  const nameLine: number[] = [];
  for (const r of body) {
    const id = r.fields[fi].trim().replaceAll("\\", "/");
    if (id === "") throw new Error(`${labelsFile}: line ${r.line}: empty file name`);
    const first = seen.get(id);
    if (first !== undefined) {
      throw new Error(
        `${labelsFile}: line ${r.line}: file "${id}" is listed twice (also line ${first})`,
      );
    }
    seen.set(id, r.line);
    const file = isAbsolute(id) ? id : join(root, id);
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
          `${labelsFile}: line ${r.line}: class ${label} is named "${name}" here but "${
            names[label]
          }" on line ${nameLine[label]}`,
        );
      }
      names[label] = name;
      nameLine[label] = r.line;
    }
    items.push({ file, id, label });
  }
  let classNames: string[] | null = null;
  if (options.classes) {
    classNames = loadClassList(options.classes).map((c) => c.name);
    const bad = items.find((it) => it.label !== null && it.label >= classNames!.length);
    if (bad) {
      throw new Error(
        `${labelsFile}: line ${
          seen.get(bad.id)
        }: label ${bad.label} is outside the ${classNames.length} classes of ${options.classes}`,
      );
    }
  } else if (ni >= 0) classNames = Array.from(names, (n) => n ?? "");
  return { name: options.name ?? basename(dirname(resolve(labelsFile))), items, classNames };
}

export interface ImagenetValOptions {
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
 * first N, with labels from `val.txt` or `LOC_val_solution.csv` (see `ImagenetValOptions`).
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
  if (options.first !== undefined) {
    if (!(Number.isInteger(options.first) && options.first > 0)) {
      throw new Error(`listImagenetVal: first must be a positive integer, got ${options.first}`);
    }
    if (options.first > names.length) {
      throw new Error(
        `${root}: asked for the first ${options.first} images but the folder holds only ` +
          `${names.length}`,
      );
    }
    names = names.slice(0, options.first);
  }
  const classes = options.classes ? loadClassList(options.classes) : null;
  const labelOf = options.labels ? readValLabels(options.labels, classes, options.classes) : null;
  const items = names.map((id) => {
    let label: number | null = null;
    if (labelOf) {
      const l = labelOf.get(id.replace(/\.jpe?g$/i, "").toUpperCase());
      if (l === undefined) throw new Error(`${options.labels}: no label for ${id}`);
      label = l;
    }
    return { file: join(root, id), id, label };
  });
  return {
    name: options.name ?? "imagenet-val",
    items,
    classNames: classes ? classes.map((c) => c.name) : null,
  };
}

/** Image stem (upper case, no extension) → standard class index. */
function readValLabels(
  path: string,
  classes: ClassInfo[] | null,
  classesPath?: string,
): Map<string, number> {
  const text = readText(path, "labels file");
  const format = valLabelFormat(text);
  const out = new Map<string, number>();
  const limit = classes ? classes.length : 1000;
  const put = (stem: string, label: number, line: number) => {
    if (label >= limit) {
      throw new Error(`${path}: line ${line}: label ${label} is outside the ${limit} classes`);
    }
    out.set(stem.toUpperCase(), label);
  };
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
        throw new Error(
          `${path}: line ${i + 1}: malformed row "${l}" (expected "FILE.JPEG LABEL")`,
        );
      }
      put(m[1], parseIndex(m[2], path, i + 1), i + 1);
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
      const wnid = r.fields[pi].trim().split(/\s+/)[0];
      const index = byWnid.get(wnid);
      if (index === undefined) {
        throw new Error(
          `${path}: line ${r.line}: WordNet id "${wnid}" is not in the class list ${classesPath}`,
        );
      }
      put(r.fields[ii].trim(), index, r.line);
    }
    return out;
  }
  throw new Error(
    `${path}: unrecognised labels format; expected Caffe's val.txt ` +
      "('ILSVRC2012_val_00000001.JPEG 65') " +
      "or Kaggle's LOC_val_solution.csv (header ImageId,PredictionString)",
  );
}
