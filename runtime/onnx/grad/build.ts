/**
 * Reverse-mode differentiation of an ONNX classifier, as a new ONNX graph: inputs `input` (batch
 * dynamic) and `cls` [N] int64; outputs `probs` [N, C] = softmax(logits) and `grad`, the gradient
 * of each row's p_cls (or logit_cls) with respect to that row's input. Rows are independent, so
 * seeding dL/dlogits with one row per sample gives all per-sample gradients in one pass.
 *
 * The forward graph is kept as is (weights stay the same TensorProto objects); nodes are visited
 * in reverse topological order, gradients of tensors with several consumers are summed, and one
 * VJP rule per op (./elementwise.ts, ./activation.ts, ...) emits the backward nodes. Tensors that
 * cannot carry a gradient (shape arithmetic, integer tensors, masks, constants, initializers) are
 * found by a forward activity pass and skipped.
 */
import { DType, opsetVersion, valueInfo } from "../builder.ts";
import {
  type ModelProto,
  type NodeProto,
  onnxNs,
  type TensorProto,
  toNumber,
  type ValueInfoProto,
} from "../proto.ts";
import { activationRules } from "./activation.ts";
import { type Dim, GradContext, type PaddedPiece, type ShapeMap } from "./context.ts";
import { convRules } from "./conv.ts";
import { einsumRules } from "./einsum.ts";
import { elementwiseRules } from "./elementwise.ts";
import { matmulRules } from "./matmul.ts";
import { normRules } from "./norm.ts";
import { findGeluPatterns, foldGeluHalves, geluPatternGrad } from "./gelu_pattern.ts";
import { foldNormAffine } from "./norm_fold.ts";
import { poolRules } from "./pool.ts";
import { reduceRules } from "./reduce.ts";
import { resizeRules } from "./resize.ts";
import { ruleKey, type RuleTable } from "./rule.ts";
import { shapeRules } from "./shape.ts";
import { constantShapeInputs, foldShapeValues } from "./shape_fold.ts";
import { findSiluPatterns, siluPatternGrad } from "./silu_pattern.ts";
import { constantNodeValue, type ConstValue, readTensor } from "./tensor.ts";
import { upgradeNodes } from "./upgrade.ts";

export type { Dim, ShapeMap } from "./context.ts";

/** Every op with a gradient rule. */
export const rules: RuleTable = {
  ...elementwiseRules,
  ...activationRules,
  ...reduceRules,
  ...normRules,
  ...convRules,
  ...poolRules,
  ...matmulRules,
  ...einsumRules,
  ...shapeRules,
  ...resizeRules,
};

/**
 * Ops whose outputs never carry a gradient: shape arithmetic, comparisons, index producers, and
 * piecewise-constant functions (zero derivative almost everywhere).
 */
export const nonDifferentiable = new Set([
  "Shape",
  "Size",
  "Range",
  "ConstantOfShape",
  "Constant",
  "NonZero",
  "Equal",
  "Less",
  "LessOrEqual",
  "Greater",
  "GreaterOrEqual",
  "Not",
  "And",
  "Or",
  "Xor",
  "ArgMax",
  "ArgMin",
  "OneHot",
  "EyeLike",
  "Floor",
  "Ceil",
  "Round",
  "Sign",
  "IsNaN",
  "IsInf",
  "RandomNormalLike",
  "RandomUniformLike",
  "Bernoulli",
]);

export type GradTarget = "prob" | "logit";

export interface BuildOptions {
  /** Differentiate the class's softmax probability or its logit. */
  target: GradTarget;
  /** Model input to differentiate (default: the first graph input that is not an initializer). */
  inputName?: string;
  /** Logits output [N, C] (default: the first graph output). */
  outputName?: string;
  /**
   * Tensor dims, batch-dependent dims as strings (see runtime/grad_model.ts `probeShapes`).
   * Needed by rules that depend on ranks or spatial sizes (MatMul, Conv, pooling, ...).
   */
  shapes?: ShapeMap | Record<string, Dim[]>;
  /** The VJP rules (default: `rules`); grad-check's tests plant an error in one through this. */
  rules?: RuleTable;
}

export const defaults: Required<Pick<BuildOptions, "target">> = { target: "prob" };

/** Names of the built graph's inputs and outputs. */
export const io = { input: "input", cls: "cls", probs: "probs", grad: "grad" } as const;

const FLOAT_TYPES = new Set([DType.FLOAT]);

/**
 * Dims of a value info, symbolic ones by name, "?" when neither is set. (Reads built messages
 * too, where the unset member of the dim oneof is undefined rather than "".)
 */
export function valueInfoDims(v: ValueInfoProto): Dim[] {
  return (v.type?.tensorType?.shape?.dim ?? []).map((d) =>
    d.dimParam
      ? d.dimParam
      : d.dimValue !== null && d.dimValue !== undefined
      ? toNumber(d.dimValue as number)
      : "?"
  );
}

function knownDims(v: ValueInfoProto): Dim[] | undefined {
  if (!v.type?.tensorType?.shape) return undefined;
  const d = valueInfoDims(v);
  return d.some((x) => x === "?") ? undefined : d;
}

export function buildGradientModel(model: ModelProto, opts: BuildOptions): ModelProto {
  const graph = model.graph;
  if (!graph?.node?.length) throw new Error("buildGradientModel: the model has no graph");
  const target = opts.target ?? defaults.target;
  const table = opts.rules ?? rules;
  const opset = opsetVersion(model);
  const initializers = graph.initializer ?? [];
  const initNames = new Set(initializers.map((t) => t.name!));
  const dataInputs = (graph.input ?? []).filter((v) => !initNames.has(v.name!));
  const inputName = opts.inputName ?? dataInputs[0]?.name;
  const inputInfo = dataInputs.find((v) => v.name === inputName);
  if (!inputName || !inputInfo) {
    throw new Error(`buildGradientModel: input "${opts.inputName}" is not a graph input`);
  }
  const outputName = opts.outputName ?? graph.output?.[0]?.name;
  if (!outputName || !(graph.output ?? []).some((v) => v.name === outputName)) {
    throw new Error(`buildGradientModel: output "${opts.outputName}" is not a graph output`);
  }

  // Shapes: value infos first, then initializers, then the caller's (probed) shapes.
  const shapes: ShapeMap = new Map();
  for (const v of [...(graph.valueInfo ?? []), ...(graph.input ?? []), ...(graph.output ?? [])]) {
    const d = knownDims(v);
    if (d) shapes.set(v.name!, d);
  }
  for (const t of initializers) {
    shapes.set(
      t.name!,
      (t.dims ?? []).map((d) => toNumber(d as number)),
    );
  }
  const given = opts.shapes instanceof Map
    ? opts.shapes
    : new Map(Object.entries(opts.shapes ?? {}));
  for (const [k, v] of given) shapes.set(k, v);

  // Every name in use, so generated names never collide.
  const taken = new Set<string>([...initNames, ...(graph.input ?? []).map((v) => v.name!)]);
  for (const n of graph.node) for (const o of [...n.input ?? [], ...n.output ?? []]) taken.add(o);
  taken.add(io.input).add(io.cls).add(io.probs).add(io.grad);
  let upgradeCount = 0;
  const freshUpgrade = (hint: string) => {
    for (;;) {
      const name = `grad/${hint}_${upgradeCount++}`;
      if (!taken.has(name)) {
        taken.add(name);
        return name;
      }
    }
  };
  const up = upgradeNodes(graph.node, opset, shapes, freshUpgrade);

  const consts = new Map<string, ConstValue>();
  for (const t of [...initializers, ...up.initializers]) {
    const numel = (t.dims ?? []).reduce((a: number, d) => a * toNumber(d as number), 1);
    if (numel <= 4096) consts.set(t.name!, readTensor(t));
  }
  for (const n of up.nodes) {
    if (n.opType === "Constant" && (!n.domain || n.domain === "ai.onnx")) {
      const v = constantNodeValue(n);
      consts.set(n.output![0], v);
      shapes.set(n.output![0], v.dims);
    }
  }
  // Shape arithmetic over static dims (chunk/split bounds) becomes constants too.
  const shapeValues = foldShapeValues(up.nodes, shapes, consts);
  for (const [k, v] of shapeValues) consts.set(k, v);
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name!));
  // Every initializer by name; the folds below add theirs.
  const tensors = new Map([...initializers, ...up.initializers].map((t) => [t.name!, t]));
  const folded = foldGeluHalves(
    up.nodes,
    (name) => consts.get(name),
    tensors,
    graphOutputs,
    freshUpgrade,
  );
  const normFolded = foldNormAffine(folded.nodes, tensors, graphOutputs, freshUpgrade);
  const foldInits = [...folded.initializers, ...normFolded.initializers];
  for (const t of foldInits) {
    tensors.set(t.name!, t);
    shapes.set(t.name!, (t.dims ?? []).map((d) => toNumber(d as number)));
    if ((t.dims ?? []).length <= 1) consts.set(t.name!, readTensor(t));
  }
  // Shape arithmetic whose values are known becomes constants (its nodes are then pruned).
  const constShapes = constantShapeInputs(
    normFolded.nodes,
    shapeValues,
    consts,
    shapes,
    freshUpgrade,
  );
  for (const t of constShapes.initializers) {
    tensors.set(t.name!, t);
    consts.set(t.name!, readTensor(t));
    shapes.set(t.name!, (t.dims ?? []).map((d) => toNumber(d as number)));
  }
  const fwd = constShapes.nodes;

  // Forward activity: which tensors depend differentiably on the input.
  const active = new Set<string>([inputName]);
  const unsupported = new Map<NodeProto, string>();
  for (const n of fwd) {
    const key = ruleKey(n);
    if (nonDifferentiable.has(key)) continue;
    const rule = table[key];
    const diff = rule ? rule.diff : (n.input ?? []).map((_, i) => i);
    const live = (n.input ?? []).some((x, i) => x !== "" && active.has(x) && diff.includes(i));
    if (!live) continue;
    if (key === "Cast") {
      const to = n.attribute?.find((a) => a.name === "to")?.i;
      const t = toNumber(to as number);
      if (!FLOAT_TYPES.has(t as 1)) {
        if (t === DType.DOUBLE || t === 10 || t === 16) {
          unsupported.set(n, `Cast to type ${t}`);
        } else continue;
      }
    }
    if (!rule) unsupported.set(n, key);
    const outs = rule?.outputs === "all" || !rule
      ? n.output!.map((_, i) => i)
      : rule.outputs ?? [0];
    for (const i of outs) if (n.output![i]) active.add(n.output![i]);
  }
  if (!active.has(outputName)) {
    throw new Error(`buildGradientModel: output "${outputName}" does not depend on "${inputName}"`);
  }

  // Backward reachability: active tensors that influence the output.
  const needed = new Set<string>([outputName]);
  const todo: NodeProto[] = [];
  for (let k = fwd.length - 1; k >= 0; k--) {
    const n = fwd[k];
    if (!(n.output ?? []).some((o) => needed.has(o) && active.has(o))) continue;
    const why = unsupported.get(n);
    if (why) {
      throw new Error(
        `buildGradientModel: no gradient rule for ${why} (node "${n.name}", op ${n.opType})`,
      );
    }
    const rule = table[ruleKey(n)];
    if (!rule) continue;
    todo.push(n);
    (n.input ?? []).forEach((x, i) => {
      if (x !== "" && active.has(x) && rule.diff.includes(i)) needed.add(x);
    });
  }

  const outOpset = Math.max(opset, 17);
  const ctx = new GradContext(outOpset, shapes, consts, taken, tensors);
  const grads = new Map<string, string[]>();
  const addGrad = (x: string, gi: string) => grads.set(x, [...(grads.get(x) ?? []), gi]);
  const accumulate = (name: string): string | undefined => {
    const parts = grads.get(name);
    if (!parts || parts.length === 0) return undefined;
    if (parts.length === 1) return parts[0];
    const s = tiled(ctx, parts) ?? ctx.op("Sum", parts);
    grads.set(name, [s]);
    return s;
  };

  // Seed: d target / d logits, one row per sample.
  const logits = outputName;
  const depth = ctx.op("Gather", [ctx.op("Shape", [logits]), ctx.i64([1])], { axis: 0 });
  ctx.nodes.push(
    onnxNs.NodeProto.create({
      opType: "Softmax",
      input: [logits],
      output: [io.probs],
      name: "grad/probs",
      attribute: [{ name: "axis", type: onnxNs.AttributeProto.AttributeType.INT, i: -1 }],
    }),
  );
  const onehot = ctx.op("OneHot", [io.cls, depth, ctx.f32([0, 1])], { axis: -1 });
  let seed = onehot;
  if (target === "prob") {
    const pc = ctx.reduce("ReduceSum", ctx.mul(io.probs, onehot), [1], true);
    seed = ctx.mul(pc, ctx.sub(onehot, io.probs));
  }
  grads.set(logits, [seed]);

  const gelus = findGeluPatterns(fwd, (name) => ctx.constValue(name), graphOutputs);
  const silus = findSiluPatterns(fwd, graphOutputs);
  for (const n of todo) {
    const gelu = gelus.get(n);
    if (gelu) {
      // The whole exported GELU at once; its inner nodes then get no gradient and are skipped.
      const g = accumulate(n.output![0]);
      if (g && needed.has(gelu.x)) addGrad(gelu.x, geluPatternGrad(ctx, g, gelu));
      continue;
    }
    const silu = silus.get(n);
    if (silu) {
      // Likewise SiLU: the Sigmoid then gets no gradient.
      const g = accumulate(n.output![0]);
      if (g && needed.has(silu.x)) addGrad(silu.x, siluPatternGrad(ctx, g, silu));
      continue;
    }
    const rule = table[ruleKey(n)]!;
    const outs = rule.outputs === "all" ? n.output!.map((_, i) => i) : rule.outputs ?? [0];
    const gOut = n.output!.map((o, k) => (outs.includes(k) ? accumulate(o) : undefined));
    if (gOut.every((g) => g === undefined)) continue;
    const needs = (n.input ?? []).map((x, i) => x !== "" && needed.has(x) && rule.diff.includes(i));
    const res = rule.vjp(ctx, n, gOut, needs);
    needs.forEach((need, i) => {
      if (!need) return;
      const gi = res[i];
      if (!gi) {
        throw new Error(`${n.opType} node "${n.name}": rule gave no gradient for input ${i}`);
      }
      addGrad(n.input![i], gi);
    });
  }
  const gradIn = accumulate(inputName);
  if (!gradIn) throw new Error(`buildGradientModel: no gradient reached "${inputName}"`);
  ctx.nodes.push(
    onnxNs.NodeProto.create({
      opType: "Identity",
      input: [gradIn],
      output: [io.grad],
      name: "grad/out",
    }),
  );

  // Rename the model input to `input`, cls is new.
  const allNodes = [...fwd, ...ctx.nodes];
  if (inputName !== io.input) {
    allNodes.unshift(
      onnxNs.NodeProto.create({
        opType: "Identity",
        input: [io.input],
        output: [inputName],
        name: "grad/in",
      }),
    );
  }
  const kept = prune(allNodes, [io.probs, io.grad]);
  const used = new Set<string>();
  for (const n of kept) for (const x of n.input ?? []) used.add(x);
  const inits: TensorProto[] = [...tensors.values(), ...ctx.initializers].filter((t) =>
    used.has(t.name!)
  );
  const inDims = valueInfoDims(inputInfo).map((d, i) => (i === 0 ? "batch" : d));
  const inType = inputInfo.type?.tensorType?.elemType ?? DType.FLOAT;
  const newGraph = onnxNs.GraphProto.create({
    name: `${graph.name ?? "model"}_grad`,
    node: kept,
    initializer: inits,
    input: [valueInfo(io.input, inType, inDims), valueInfo(io.cls, DType.INT64, ["batch"])],
    output: [
      valueInfo(io.probs, DType.FLOAT, ["batch", "classes"]),
      valueInfo(io.grad, DType.FLOAT, inDims),
    ],
  });
  const opsetImport = (model.opsetImport ?? []).map((o) =>
    !o.domain || o.domain === "ai.onnx" ? { domain: "", version: outOpset } : o
  );
  return onnxNs.ModelProto.create({
    irVersion: Math.max(toNumber(model.irVersion as number), 8),
    producerName: "xcompare-grad",
    opsetImport,
    graph: newGraph,
  });
}

/**
 * The Concat of the pieces when `parts` are zero-padded pieces along one axis that tile it
 * exactly (each position covered once), else undefined: one copy instead of a Pad per piece and
 * a Sum over full-size tensors.
 */
function tiled(ctx: GradContext, parts: readonly string[]): string | undefined {
  const pieces = parts.map((p) => ctx.pieces.get(p));
  if (pieces.some((p) => !p)) return undefined;
  const ps = (pieces as PaddedPiece[]).slice().sort((p, q) => p.before - q.before);
  const { axis, total } = ps[0];
  if (ps.some((p) => p.axis !== axis || p.total !== total)) return undefined;
  let at = 0;
  for (const p of ps) {
    if (p.before !== at) return undefined;
    at = total - p.after;
    if (at <= p.before) return undefined;
  }
  if (at !== total) return undefined;
  return ctx.op("Concat", ps.map((p) => p.piece), { axis });
}

/** Nodes needed for `outputs`, in their original (topological) order. */
function prune(nodes: NodeProto[], outputs: string[]): NodeProto[] {
  const need = new Set(outputs);
  const keep: boolean[] = new Array(nodes.length).fill(false);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k];
    if ((n.output ?? []).some((o) => need.has(o))) {
      keep[k] = true;
      for (const x of n.input ?? []) if (x) need.add(x);
    }
  }
  return nodes.filter((_, k) => keep[k]);
}
