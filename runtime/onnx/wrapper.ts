/**
 * The mask wrapper: one ONNX graph that upsamples low-resolution masks, composes them with their
 * images and baselines, runs the user's model and returns softmax probabilities of chosen classes.
 * Composing inside the graph means a batch ships small masks plus the few images they refer to,
 * not one full image per mask.
 */
import { axisWeights, type UpsampleMode } from "../../explain/upsample.ts";
import {
  DType,
  floatTensor,
  getAttr,
  int64Tensor,
  isDefaultDomain,
  node,
  valueInfo,
} from "./builder.ts";
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
   * Masks come at the image's resolution, [N, 1, H, W], and are used as they are: no `up_y` or
   * `up_xt` inputs. The same values the upsampling path gives for side = H = W (its matrices are
   * then the identity), without its two GEMMs.
   */
  fullResolution: boolean;
}

export const defaults: WrapperOptions = {
  fullResolution: false,
  probs: false,
  extraOutputs: [],
  logits: undefined,
  minOpset: 13,
};

/** The wrapper's interface names; model tensors with these names are renamed. */
export const WRAPPER_IO = {
  baselines: "baselines",
  diffs: "diffs",
  index: "index",
  masks: "masks",
  cls: "cls",
  /** float64 [H, S]: row y holds the weights of the mask rows for image row y (U's Wy). */
  upY: "up_y",
  /** float64 [S, W]: Wxᵀ, column x holds the weights of the mask columns for image column x. */
  upXT: "up_xt",
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
  const { baselines, diffs, index, masks, cls, upY, upXT, prob, probs } = WRAPPER_IO;
  const logits2d = logitsName === io.outputName && io.outputDims.length === 2
    ? renamed(logitsName)
    : P("logits2d");
  const nodes: NodeProto[] = [
    ...(opts.fullResolution ? fullResolutionComposition(x, P) : composition(x, P)),
    ...body.node!,
    ...(logits2d === renamed(logitsName)
      ? []
      : [node("Flatten", [renamed(logitsName)], [logits2d], { axis: 1 })]),
    node("Softmax", [logits2d], [opts.probs ? probs : P("probs")], { axis: 1 }),
    node("Reshape", [cls, P("col_shape")], [P("cls_col")]),
    node("GatherElements", [opts.probs ? probs : P("probs"), P("cls_col")], [P("prob_col")], {
      axis: 1,
    }),
    node("Reshape", [P("prob_col"), P("flat_shape")], [prob]),
  ];
  const constants: TensorProto[] = [
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
      valueInfo(baselines, DType.FLOAT, imageDims),
      valueInfo(diffs, DType.FLOAT, imageDims),
      valueInfo(index, DType.INT64, ["N"]),
      valueInfo(masks, DType.FLOAT, opts.fullResolution ? ["N", 1, h, w] : ["N", 1, "S", "S"]),
      valueInfo(cls, DType.INT64, ["N"]),
      ...(opts.fullResolution ? [] : [
        valueInfo(upY, DType.DOUBLE, [h, "S"]),
        valueInfo(upXT, DType.DOUBLE, ["S", w]),
      ]),
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

/**
 * x = B + f32(D·U(m)), with D = f32(I − B) fed per image and U(m) = f32(f32(Wy · m) · Wxᵀ) as two
 * float64 MatMuls. Every float64 sum has at most two non-zero terms, each an exact product of two
 * float32 values (bilinear weights are float32, nearest ones 0 or 1), so any summation order, with
 * or without FMA, rounds once to the float64 `Upsampler.apply` computes; the float32 Mul and Add
 * are correctly rounded, as `compose`'s Math.fround steps. The model thus sees bit for bit what
 * TypeScript builds, which int8 models need (one ulp can flip a quantisation step), at the cost of
 * two small MatMuls: no per-run index arithmetic, no casts of full-size images.
 */
function composition(x: string, P: (s: string) => string): NodeProto[] {
  return [
    node("Cast", [MASKS], [P("m_d")], { to: DType.DOUBLE }),
    node("MatMul", [UP_Y, P("m_d")], [P("t_d")]), // [N, 1, H, S], one small GEMM per mask
    node("Cast", [P("t_d")], [P("t_f")], { to: DType.FLOAT }),
    node("Cast", [P("t_f")], [P("t_r")], { to: DType.DOUBLE }),
    node("MatMul", [P("t_r"), UP_XT], [P("u_d")]), // [N, 1, H, W], one GEMM for the batch
    node("Cast", [P("u_d")], [P("u")], { to: DType.FLOAT }),
    ...blend(x, P, P("u")),
  ];
}

/** Masks already at the image's resolution are U(m) themselves. */
function fullResolutionComposition(x: string, P: (s: string) => string): NodeProto[] {
  return blend(x, P, MASKS);
}

/** x = B + D·u, with each mask's B and D gathered by its image index. */
function blend(x: string, P: (s: string) => string, u: string): NodeProto[] {
  return [
    node("Gather", [DIFFS, INDEX], [P("diff")], { axis: 0 }),
    node("Gather", [BASELINES, INDEX], [P("base")], { axis: 0 }),
    node("Mul", [P("diff"), u], [P("delta")]),
    node("Add", [P("base"), P("delta")], [x]),
  ];
}

const {
  baselines: BASELINES,
  diffs: DIFFS,
  index: INDEX,
  masks: MASKS,
  upY: UP_Y,
  upXT: UP_XT,
} = WRAPPER_IO;

/** The wrapper's per-image input D = f32(I − B), computed once per image, not per batch. */
export function imageDiff(
  image: Float32Array,
  baseline: Float32Array,
  out = new Float32Array(image.length),
): Float32Array {
  for (let i = 0; i < image.length; i++) out[i] = image[i] - baseline[i];
  return out;
}

/** The wrapper's `up_y` [H, S] and `up_xt` [S, W] inputs for masks of side `side`. */
export function upsampleMatrices(
  side: number,
  h: number,
  w: number,
  mode: UpsampleMode,
): { upY: Float64Array; upXT: Float64Array } {
  const wy = axisWeights(side, h, mode);
  const wx = axisWeights(side, w, mode);
  const upXT = new Float64Array(side * w);
  for (let x = 0; x < w; x++) for (let j = 0; j < side; j++) upXT[j * w + x] = wx[x * side + j];
  return { upY: Float64Array.from(wy), upXT };
}
