/**
 * The mask wrapper: one ONNX graph that upsamples low-resolution masks, composes them with their
 * images and baselines, runs the user's model and returns softmax probabilities of chosen classes.
 * Composing inside the graph means a batch ships small masks plus the few images they refer to,
 * not one full image per mask.
 */
import type { UpsampleMode } from "../../explain/upsample.ts";
import { DType, floatTensor, getAttr, int64Tensor, node, valueInfo } from "./builder.ts";
import { inspectModel } from "./inspect.ts";
import {
  decodeModel,
  encodeModel,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  onnxNs,
  type TensorProto,
  toNumber,
} from "./proto.ts";

export interface WrapperOptions {
  /** U(m): `bilinear` = linear, align_corners; `nearest` = asymmetric, floor. */
  mode: UpsampleMode;
  /** Also output `probs` [N, classes]. */
  probs: boolean;
  /** Intermediate tensors of the model to expose as outputs under their own names. */
  extraOutputs: string[];
  /** The model output holding the logits; default: its first output. */
  logits?: string;
  /**
   * Models below this ai.onnx opset are upgraded to it (only 13 is supported as a target: the
   * wrapper's own ops mean the same from 11 on, so 11 or 12 keeps any model's opset as is).
   */
  minOpset: 11 | 12 | 13;
  /**
   * Upsample and compose in float64 with the rounding steps of `Upsampler.apply` and `compose`,
   * so the model sees bit for bit the input TypeScript would build. Int8 models turn one-ulp input
   * differences into percent-level probability changes (a quantisation step flips), so `false`
   * (ONNX Resize, float32 arithmetic) is only for speed where that does not matter.
   */
  exact: boolean;
}

export const defaults: WrapperOptions = {
  mode: "bilinear",
  probs: false,
  extraOutputs: [],
  logits: undefined,
  minOpset: 13,
  exact: true,
};

/** The wrapper's interface names; model tensors with these names are renamed. */
export const WRAPPER_IO = {
  images: "images",
  baselines: "baselines",
  index: "index",
  masks: "masks",
  cls: "cls",
  prob: "prob",
  probs: "probs",
} as const;

/** Returns the wrapper model around `model` (ModelProto or encoded bytes). */
export function wrapModel(
  model: ModelProto | Uint8Array,
  options: Partial<WrapperOptions> = {},
  source = "<model>",
): ModelProto {
  const opts = { ...defaults, ...options };
  const m = model instanceof Uint8Array ? decodeModel(model, source) : model;
  const io = inspectModel(m, source);
  const g = m.graph!;
  const [, c, h, w] = io.inputDims;

  // Names: the model keeps its own except where they clash with the wrapper's interface; the
  // wrapper's internal tensors get a prefix no model name starts with.
  const modelNames = collectNames(g);
  let prefix = "xc_";
  for (let i = 1; [...modelNames].some((n) => n.startsWith(prefix)); i++) prefix = `xc${i}_`;
  const reserved = new Set<string>(Object.values(WRAPPER_IO));
  const rename = new Map<string, string>();
  for (const n of modelNames) if (reserved.has(n)) rename.set(n, `${prefix}m_${n}`);
  const renamed = (n: string) => rename.get(n) ?? n;
  const P = (n: string) => prefix + n;

  const logitsName = opts.logits ?? io.outputName;
  if (!(g.output ?? []).some((o) => o.name === logitsName) && !producedBy(g, logitsName)) {
    throw new Error(`${source}: logits tensor '${logitsName}' is not in the model`);
  }
  for (const x of opts.extraOutputs) {
    if (!modelNames.has(x)) {
      throw new Error(`${source}: extra output '${x}' is not a tensor of the model`);
    }
  }

  // The model's body, renamed and upgraded; its input becomes the composed tensor.
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  let body: GraphProto = onnxNs.GraphProto.create({
    node: g.node!.map((n) => renameNode(n, renamed)),
    initializer: (g.initializer ?? []).map((t) => ({ ...t, name: renamed(t.name!) })),
    sparseInitializer: g.sparseInitializer ?? [],
    valueInfo: (g.valueInfo ?? []).map((v) => ({ ...v, name: renamed(v.name!) })),
  });
  const opset = io.opset;
  const targetOpset = Math.max(opset, opts.minOpset);
  if (opset < 11) throw new Error(`${source}: opset ${opset} is too old (need 11 or later)`);
  if (targetOpset > opset) body = upgradeGraph(body, opset, targetOpset, prefix);

  const x = renamed(io.inputName);
  const { images, baselines, index, masks, cls, prob, probs } = WRAPPER_IO;
  const composition = opts.exact
    ? exactComposition(opts.mode, P, x)
    : fastComposition(opts.mode, P, x);
  const nodes: NodeProto[] = [
    ...composition.nodes,
    ...body.node!,
    node("Flatten", [renamed(logitsName)], [P("logits2d")], { axis: 1 }),
    node("Softmax", [P("logits2d")], [opts.probs ? probs : P("probs")], { axis: 1 }),
    node("Reshape", [cls, P("col_shape")], [P("cls_col")]),
    node("GatherElements", [opts.probs ? probs : P("probs"), P("cls_col")], [P("prob_col")], {
      axis: 1,
    }),
    node("Reshape", [P("prob_col"), P("flat_shape")], [prob]),
  ];
  const constants: TensorProto[] = [
    ...composition.constants,
    int64Tensor(P("col_shape"), [2], [-1, 1]),
    int64Tensor(P("flat_shape"), [1], [-1]),
  ];
  const imageDims = ["K", c, h, w];
  const classes = io.outputDims[io.outputDims.length - 1];
  const outputs = [valueInfo(prob, DType.FLOAT, ["N"])];
  if (opts.probs) outputs.push(valueInfo(probs, DType.FLOAT, ["N", classes]));
  for (const e of opts.extraOutputs) {
    const known = [...(g.valueInfo ?? []), ...(g.output ?? [])].find((v) => v.name === e);
    outputs.push(
      known ? { ...known, name: renamed(e) } : onnxNs.ValueInfoProto.create({
        name: renamed(e),
        type: { tensorType: { elemType: DType.FLOAT } },
      }),
    );
  }
  const graph = onnxNs.GraphProto.create({
    name: `xc_wrapper_${g.name ?? "model"}`,
    node: nodes,
    input: [
      valueInfo(images, DType.FLOAT, imageDims),
      valueInfo(baselines, DType.FLOAT, imageDims),
      valueInfo(index, DType.INT64, ["N"]),
      valueInfo(masks, DType.FLOAT, ["N", 1, "S", "S"]),
      valueInfo(cls, DType.INT64, ["N"]),
    ],
    output: outputs,
    initializer: [...body.initializer!, ...constants],
    sparseInitializer: body.sparseInitializer,
    valueInfo: body.valueInfo!.filter((v) => !inits.has(v.name!)),
  });
  const opsetImport = (m.opsetImport ?? []).map((o) =>
    !o.domain || o.domain === "ai.onnx" ? { domain: o.domain, version: targetOpset } : o
  );
  return onnxNs.ModelProto.create({
    irVersion: Math.max(toNumber(m.irVersion as number), targetOpset >= 13 ? 7 : 6),
    producerName: "xcompare-wrapper",
    opsetImport,
    functions: m.functions ?? [],
    graph,
  });
}

/** `wrapModel`, encoded, ready for `createSession`. */
export function wrapModelBytes(
  model: ModelProto | Uint8Array,
  options: Partial<WrapperOptions> = {},
  source = "<model>",
): Uint8Array {
  return encodeModel(wrapModel(model, options, source));
}

/** Every tensor name used in a graph, subgraphs included. */
function collectNames(g: GraphProto, into = new Set<string>()): Set<string> {
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) {
    into.add(v.name!);
  }
  for (const t of g.initializer ?? []) into.add(t.name!);
  for (const n of g.node ?? []) {
    for (const s of [...(n.input ?? []), ...(n.output ?? [])]) if (s) into.add(s);
    for (const a of n.attribute ?? []) {
      if (a.g) collectNames(a.g, into);
      for (const sg of a.graphs ?? []) collectNames(sg, into);
    }
  }
  return into;
}

function producedBy(g: GraphProto, name: string): boolean {
  return (g.node ?? []).some((n) => (n.output ?? []).includes(name));
}

/** A copy of `n` with tensor names mapped, inside subgraphs too (outer-scope references). */
function renameNode(n: NodeProto, f: (s: string) => string): NodeProto {
  return {
    ...n,
    input: (n.input ?? []).map((s) => (s ? f(s) : s)),
    output: (n.output ?? []).map((s) => (s ? f(s) : s)),
    attribute: (n.attribute ?? []).map((a) =>
      a.g || (a.graphs && a.graphs.length)
        ? {
          ...a,
          g: a.g ? renameGraph(a.g, f) : a.g,
          graphs: (a.graphs ?? []).map((x) => renameGraph(x, f)),
        }
        : a
    ),
  };
}

function renameGraph(g: GraphProto, f: (s: string) => string): GraphProto {
  return {
    ...g,
    node: (g.node ?? []).map((n) => renameNode(n, f)),
    input: (g.input ?? []).map((v) => ({ ...v, name: f(v.name!) })),
    output: (g.output ?? []).map((v) => ({ ...v, name: f(v.name!) })),
    valueInfo: (g.valueInfo ?? []).map((v) => ({ ...v, name: f(v.name!) })),
    initializer: (g.initializer ?? []).map((t) => ({ ...t, name: f(t.name!) })),
  };
}

const isDefaultDomain = (n: NodeProto) => !n.domain || n.domain === "ai.onnx";

/**
 * Rewrites the ops whose meaning changes between opset `from` (11 or 12) and 13: Dropout's
 * `ratio` (12), Squeeze/Unsqueeze `axes`, ReduceSum `axes`, Split `split` (attributes become
 * inputs), and Softmax/LogSoftmax/Hardmax (2-D coercion becomes a single axis: rewritten as
 * Flatten → op → Reshape unless the axis is already the last). Subgraphs are rewritten too.
 */
export function upgradeGraph(g: GraphProto, from: number, to: number, prefix: string): GraphProto {
  if (to !== 13) throw new Error(`opset upgrade to ${to} is not supported (only to 13)`);
  let k = 0;
  const fresh = (tag: string) => `${prefix}up${k++}_${tag}`;
  const extraInits: TensorProto[] = [];
  const rewrite = (graph: GraphProto): GraphProto => {
    const out: NodeProto[] = [];
    for (const n0 of graph.node ?? []) {
      const n: NodeProto = {
        ...n0,
        attribute: (n0.attribute ?? []).map((a) =>
          a.g || (a.graphs && a.graphs.length)
            ? { ...a, g: a.g ? rewrite(a.g) : a.g, graphs: (a.graphs ?? []).map(rewrite) }
            : a
        ),
      };
      if (!isDefaultDomain(n)) {
        out.push(n);
        continue;
      }
      const attrs = n.attribute ?? [];
      const without = (name: string) => attrs.filter((a) => a.name !== name);
      const moveToInput = (attr: string, position: number) => {
        const v = getAttr(n, attr) as number[] | undefined;
        if (v === undefined) return n;
        const t = fresh(attr);
        extraInits.push(int64Tensor(t, [v.length], v));
        const inputs = [...(n.input ?? [])];
        while (inputs.length < position) inputs.push("");
        inputs[position] = t;
        return { ...n, input: inputs, attribute: without(attr) };
      };
      switch (n.opType) {
        case "Squeeze":
        case "Unsqueeze":
        case "ReduceSum":
          out.push(moveToInput("axes", 1));
          break;
        case "Split":
          out.push(moveToInput("split", 1));
          break;
        case "Dropout": {
          const ratio = getAttr(n, "ratio") as number | undefined;
          if (from >= 12 || ratio === undefined) {
            out.push(n);
            break;
          }
          const t = fresh("ratio");
          extraInits.push(floatTensor(t, [], [ratio]));
          out.push({ ...n, input: [n.input![0], t], attribute: without("ratio") });
          break;
        }
        case "Softmax":
        case "LogSoftmax":
        case "Hardmax": {
          const axis = (getAttr(n, "axis") as number | undefined) ?? 1;
          if (axis === -1) {
            out.push(n);
            break;
          }
          const [xin] = n.input!;
          const [yout] = n.output!;
          const shape = fresh("shape");
          const flat = fresh("flat");
          const y2 = fresh("y2d");
          out.push(
            node("Shape", [xin], [shape]),
            node("Flatten", [xin], [flat], { axis }),
            { ...n, input: [flat], output: [y2], attribute: [...without("axis"), ...[]] },
            node("Reshape", [y2, shape], [yout]),
          );
          // The rewritten op works on a 2-D tensor: axis -1 (its default from 13 on) is axis 1.
          break;
        }
        default:
          out.push(n);
      }
    }
    return { ...graph, node: out };
  };
  const result = rewrite(g);
  return { ...result, initializer: [...(result.initializer ?? []), ...extraInits] };
}

interface Composition {
  nodes: NodeProto[];
  constants: TensorProto[];
}

/** Gathers of the masks' images and baselines by `index`, shared by both compositions. */
const { images: IMAGES, baselines: BASELINES, index: INDEX, masks: MASKS } = WRAPPER_IO;

/**
 * float32: ONNX Resize (linear/align_corners) or integer-indexed nearest, then B + (I − B)·U.
 * Nearest uses indices floor(y·g/H) in integers because Resize's nearest computes y / scale in
 * float, which misplaces block edges whenever H is not a multiple of g (28 cells on 32 pixels).
 */
function fastComposition(mode: UpsampleMode, P: (s: string) => string, x: string): Composition {
  const nodes: NodeProto[] = [
    node("Shape", [IMAGES], [P("img_shape")]),
    node("Shape", [MASKS], [P("mask_shape")]),
  ];
  const constants: TensorProto[] = [];
  if (mode === "bilinear") {
    nodes.push(
      node("Gather", [P("img_shape"), P("hw_idx")], [P("hw")], { axis: 0 }),
      node("Gather", [P("mask_shape"), P("n1_idx")], [P("n1")], { axis: 0 }),
      node("Concat", [P("n1"), P("hw")], [P("sizes")], { axis: 0 }),
      node("Resize", [MASKS, P("roi"), P("scales"), P("sizes")], [P("u")], {
        mode: "linear",
        coordinate_transformation_mode: "align_corners",
      }),
    );
    constants.push(
      int64Tensor(P("hw_idx"), [2], [2, 3]),
      int64Tensor(P("n1_idx"), [2], [0, 1]),
      floatTensor(P("roi"), [0], []),
      floatTensor(P("scales"), [0], []),
    );
  } else {
    const ax = axisIndices(P, nodes, constants);
    nodes.push(
      node("Gather", [MASKS, ax.y.i0], [P("u_rows")], { axis: 2 }),
      node("Gather", [P("u_rows"), ax.x.i0], [P("u")], { axis: 3 }),
    );
  }
  nodes.push(
    // I − B once per image (K of them), not per mask (N ≥ K).
    node("Sub", [IMAGES, BASELINES], [P("diff_k")]),
    node("Gather", [P("diff_k"), INDEX], [P("diff")], { axis: 0 }),
    node("Gather", [BASELINES, INDEX], [P("base")], { axis: 0 }),
    node("Mul", [P("diff"), P("u")], [P("delta")]),
    node("Add", [P("base"), P("delta")], [x]),
  );
  return { nodes, constants };
}

interface AxisIndices {
  /** int64 [out]: first source cell (floor) of each output pixel. */
  i0: string;
  /** int64 [out]: second source cell (ceil; equals i0 where the weight of i1 is 0). */
  i1: string;
  /** float64 [out]: the two weights, rounded to float32 as `axisWeights` stores them. */
  w0: string;
  w1: string;
}

/**
 * Per axis (y = dim 2, x = dim 3): nearest cell floor(p·g/H), or align-corners cells
 * floor/ceil(p·(g−1)/(H−1)) and weights 1−f, f with f computed in float64 as `axisWeights` does.
 */
function axisIndices(
  P: (s: string) => string,
  nodes: NodeProto[],
  constants: TensorProto[],
  bilinear = false,
): { y: AxisIndices; x: AxisIndices } {
  constants.push(
    int64Tensor(P("axis2"), [], [2]),
    int64Tensor(P("axis3"), [], [3]),
    int64Tensor(P("zero"), [], [0]),
    int64Tensor(P("one"), [], [1]),
  );
  if (bilinear) constants.push(doubleScalar(P("one_d"), 1));
  const result = {} as { y: AxisIndices; x: AxisIndices };
  for (const [a, axis] of [["y", 2], ["x", 3]] as const) {
    const t = (s: string) => P(`${a}_${s}`);
    nodes.push(
      node("Gather", [P("img_shape"), P(`axis${axis}`)], [t("out")], { axis: 0 }),
      node("Gather", [P("mask_shape"), P(`axis${axis}`)], [t("grid")], { axis: 0 }),
      node("Range", [P("zero"), t("out"), P("one")], [t("pix")]),
    );
    if (!bilinear) {
      nodes.push(
        node("Mul", [t("pix"), t("grid")], [t("scaled")]),
        node("Div", [t("scaled"), t("out")], [t("i0")]),
      );
      result[a] = { i0: t("i0"), i1: t("i0"), w0: "", w1: "" };
      continue;
    }
    nodes.push(
      node("Sub", [t("grid"), P("one")], [t("gm1")]),
      node("Sub", [t("out"), P("one")], [t("om1")]),
      // den = max(out − 1, 1) without int64 Max (opset 12): out = 1 means source 0.
      node("Equal", [t("out"), P("one")], [t("single")]),
      node("Cast", [t("single")], [t("single_i")], { to: DType.INT64 }),
      node("Add", [t("om1"), t("single_i")], [t("den")]),
      node("Mul", [t("pix"), t("gm1")], [t("num")]),
      node("Div", [t("num"), t("den")], [t("i0")]),
      node("Add", [t("num"), t("den")], [t("num_up")]),
      node("Sub", [t("num_up"), P("one")], [t("num_up1")]),
      node("Div", [t("num_up1"), t("den")], [t("i1")]),
      node("Cast", [t("num")], [t("num_d")], { to: DType.DOUBLE }),
      node("Cast", [t("den")], [t("den_d")], { to: DType.DOUBLE }),
      node("Cast", [t("i0")], [t("i0_d")], { to: DType.DOUBLE }),
      node("Div", [t("num_d"), t("den_d")], [t("src")]),
      node("Sub", [t("src"), t("i0_d")], [t("f")]),
      node("Sub", [P("one_d"), t("f")], [t("g")]),
      node("Cast", [t("g")], [t("w0_f")], { to: DType.FLOAT }),
      node("Cast", [t("f")], [t("w1_f")], { to: DType.FLOAT }),
      node("Cast", [t("w0_f")], [t("w0")], { to: DType.DOUBLE }),
      node("Cast", [t("w1_f")], [t("w1")], { to: DType.DOUBLE }),
    );
    result[a] = { i0: t("i0"), i1: t("i1"), w0: t("w0"), w1: t("w1") };
  }
  return result;
}

function doubleScalar(name: string, v: number): TensorProto {
  const d = Float64Array.of(v);
  return onnxNs.TensorProto.create({
    name,
    dims: [],
    dataType: DType.DOUBLE,
    rawData: new Uint8Array(d.buffer),
  });
}

/**
 * float64 with float32 storage where TypeScript stores: tmp = f32(m·Wxᵀ), u = f32(Wy·tmp),
 * x = f32(B + (I − B)·u). Each sum has two exact float64 products, so one rounding, as in JS.
 */
function exactComposition(mode: UpsampleMode, P: (s: string) => string, x: string): Composition {
  const nodes: NodeProto[] = [
    node("Shape", [IMAGES], [P("img_shape")]),
    node("Shape", [MASKS], [P("mask_shape")]),
  ];
  const constants: TensorProto[] = [];
  const ax = axisIndices(P, nodes, constants, mode === "bilinear");
  if (mode === "nearest") {
    nodes.push(
      node("Gather", [MASKS, ax.y.i0], [P("u_rows")], { axis: 2 }),
      node("Gather", [P("u_rows"), ax.x.i0], [P("u_f")], { axis: 3 }),
    );
  } else {
    constants.push(int64Tensor(P("col"), [2], [-1, 1]));
    nodes.push(
      node("Cast", [MASKS], [P("m_d")], { to: DType.DOUBLE }),
      // Pass 1 along x: [N, 1, gh, W].
      node("Gather", [P("m_d"), ax.x.i0], [P("a0")], { axis: 3 }),
      node("Gather", [P("m_d"), ax.x.i1], [P("a1")], { axis: 3 }),
      node("Mul", [P("a0"), ax.x.w0], [P("a0w")]),
      node("Mul", [P("a1"), ax.x.w1], [P("a1w")]),
      node("Add", [P("a0w"), P("a1w")], [P("tmp_d")]),
      node("Cast", [P("tmp_d")], [P("tmp_f")], { to: DType.FLOAT }),
      node("Cast", [P("tmp_f")], [P("tmp")], { to: DType.DOUBLE }),
      // Pass 2 along y: [N, 1, H, W].
      node("Reshape", [ax.y.w0, P("col")], [P("wy0")]),
      node("Reshape", [ax.y.w1, P("col")], [P("wy1")]),
      node("Gather", [P("tmp"), ax.y.i0], [P("b0")], { axis: 2 }),
      node("Gather", [P("tmp"), ax.y.i1], [P("b1")], { axis: 2 }),
      node("Mul", [P("b0"), P("wy0")], [P("b0w")]),
      node("Mul", [P("b1"), P("wy1")], [P("b1w")]),
      node("Add", [P("b0w"), P("b1w")], [P("u_d")]),
      node("Cast", [P("u_d")], [P("u_f")], { to: DType.FLOAT }),
    );
  }
  nodes.push(
    node("Cast", [P("u_f")], [P("u")], { to: DType.DOUBLE }),
    // Per image (K), not per mask (N ≥ K): the casts and I − B (exact in float64, as in JS).
    node("Cast", [IMAGES], [P("img_k")], { to: DType.DOUBLE }),
    node("Cast", [BASELINES], [P("base_k")], { to: DType.DOUBLE }),
    node("Sub", [P("img_k"), P("base_k")], [P("diff_k")]),
    node("Gather", [P("diff_k"), INDEX], [P("diff")], { axis: 0 }),
    node("Gather", [P("base_k"), INDEX], [P("base")], { axis: 0 }),
    node("Mul", [P("diff"), P("u")], [P("delta")]),
    node("Add", [P("base"), P("delta")], [P("x_d")]),
    node("Cast", [P("x_d")], [x], { to: DType.FLOAT }),
  );
  return { nodes, constants };
}
