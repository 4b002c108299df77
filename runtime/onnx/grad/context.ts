/**
 * The builder's workbench: VJP rules emit ONNX nodes through it, so each rule reads as the
 * formula it implements while naming, constants, opset-dependent signatures (Reduce*, Squeeze,
 * Split) and un-broadcasting live in one place.
 *
 * Shapes: rules use static shapes (dims known at build time, batch-dependent dims as strings like
 * "N*3") when the caller supplies them (runtime/grad_model.ts probes them with two forward runs);
 * where a shape is unknown, un-broadcasting falls back to a run-time computation from Shape ops.
 */
import { DType, node } from "../builder.ts";
import type { NodeProto, TensorProto } from "../proto.ts";
import { floatTensor, int64Tensor } from "../builder.ts";
import { type ConstValue, readTensor } from "./tensor.ts";

/** A static dim, or a batch-dependent one as a string (equal strings are equal dims). */
export type Dim = number | string;
/** Tensor name -> dims. */
export type ShapeMap = Map<string, Dim[]>;

/** A gradient that is `piece` zero-padded along one axis (see GradContext.pieces). */
export interface PaddedPiece {
  piece: string;
  axis: number;
  before: number;
  after: number;
  /** Extent of the padded tensor along `axis`. */
  total: number;
}

export class GradContext {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  /**
   * Gradients emitted as one slice zero-padded to full size (Gather of a constant index, Slice),
   * by output name: when every contribution to a tensor is such a piece and together they tile
   * it (q, k, v taken from one qkv tensor), the sum of the padded pieces is their Concat.
   */
  readonly pieces = new Map<string, PaddedPiece>();
  private counter = 0;
  private readonly constCache = new Map<string, string>();
  private readonly shapeCache = new Map<string, string>();

  constructor(
    readonly opset: number,
    readonly shapes: ShapeMap,
    readonly consts: Map<string, ConstValue>,
    private readonly taken: Set<string>,
    private readonly tensors: Map<string, TensorProto> = new Map(),
  ) {}

  /** A tensor name not used anywhere in the model. */
  fresh(hint: string): string {
    for (;;) {
      const name = `grad/${hint}_${this.counter++}`;
      if (!this.taken.has(name)) {
        this.taken.add(name);
        return name;
      }
    }
  }

  /** Emits one node with a single fresh output and returns that output's name. */
  op(
    opType: string,
    inputs: string[],
    attrs: Parameters<typeof node>[3] = {},
    opts: { floatKeys?: string[]; domain?: string } = {},
  ): string {
    return this.opN(opType, inputs, 1, attrs, opts)[0];
  }

  opN(
    opType: string,
    inputs: string[],
    n: number,
    attrs: Parameters<typeof node>[3] = {},
    opts: { floatKeys?: string[]; domain?: string } = {},
  ): string[] {
    const outs = Array.from({ length: n }, () => this.fresh(opType));
    this.nodes.push(node(opType, inputs, outs, attrs, { name: outs[0], ...opts }));
    return outs;
  }

  /** A float32 constant (a scalar when `dims` is omitted and a single number is given). */
  f32(values: number | ArrayLike<number>, dims?: number[]): string {
    const data = typeof values === "number" ? [values] : values;
    const d = dims ?? (typeof values === "number" ? [] : [data.length]);
    const key = data.length <= 16 ? `f:${d.join(",")}:${Array.from(data).join(",")}` : undefined;
    const hit = key && this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh("const");
    this.initializers.push(floatTensor(name, d, data));
    if (key) this.constCache.set(key, name);
    return name;
  }

  /** An int64 constant, 1-D by default. */
  i64(values: number[], dims: number[] = [values.length]): string {
    const key = `i:${dims.join(",")}:${values.join(",")}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh("const");
    this.initializers.push(int64Tensor(name, dims, values));
    this.constCache.set(key, name);
    return name;
  }

  dims(x: string): Dim[] | undefined {
    return this.shapes.get(x);
  }

  /** Dims when all are static numbers. */
  staticDims(x: string): number[] | undefined {
    const d = this.shapes.get(x);
    return d && d.every((v) => typeof v === "number") ? d as number[] : undefined;
  }

  /** The rank of `x`; an unknown rank is an error naming the node that needed it. */
  rank(x: string, who: NodeProto): number {
    const d = this.shapes.get(x);
    if (!d) {
      throw new Error(
        `${who.opType} node "${who.name}": the shape of tensor "${x}" is unknown ` +
          `(give buildGradientModel the tensor shapes, e.g. from probeShapes)`,
      );
    }
    return d.length;
  }

  /** Dims of `x`, or an error naming the node that needed them. */
  requireDims(x: string, who: NodeProto): Dim[] {
    this.rank(x, who);
    return this.shapes.get(x)!;
  }

  /** Shape of `x` as a 1-D int64 tensor: a constant when static, else a (shared) Shape node. */
  shapeOf(x: string): string {
    const s = this.staticDims(x);
    if (s) return this.i64(s);
    let name = this.shapeCache.get(x);
    if (!name) {
      name = this.op("Shape", [x]);
      this.shapeCache.set(x, name);
    }
    return name;
  }

  /** Values of an initializer of any size (read on demand; large ones are not cached). */
  initializerValue(name: string): ConstValue | undefined {
    const small = this.consts.get(name);
    if (small) return small;
    const t = this.tensors.get(name);
    return t ? readTensor(t) : undefined;
  }

  constValue(name: string): ConstValue | undefined {
    return this.consts.get(name);
  }

  constInts(name: string | undefined): number[] | undefined {
    if (!name) return undefined;
    const v = this.consts.get(name);
    return v ? Array.from(v.data) : undefined;
  }

  /** Reduce* with static axes (all axes when undefined), in the signature of this opset. */
  reduce(op: string, x: string, axes: number[] | undefined, keepdims: boolean): string {
    const axesAsInput = op === "ReduceSum" ? this.opset >= 13 : this.opset >= 18;
    const k = keepdims ? 1 : 0;
    if (axes === undefined) return this.op(op, [x], { keepdims: k });
    if (axesAsInput) return this.op(op, [x, this.i64(axes)], { keepdims: k });
    return this.op(op, [x], { keepdims: k, axes });
  }

  unsqueeze(x: string, axes: number[]): string {
    return this.opset >= 13
      ? this.op("Unsqueeze", [x, this.i64(axes)])
      : this.op("Unsqueeze", [x], { axes });
  }

  /** Splits along `axis` into pieces whose sizes are a 1-D int64 tensor. */
  split(x: string, sizes: string, n: number, axis: number): string[] {
    return this.opN("Split", [x, sizes], n, { axis });
  }

  /** Size of dimension `axis` of `x` as a 1-D int64 tensor of length 1. */
  dimOf(x: string, axis: number): string {
    const d = this.dims(x);
    const a = d && axis < 0 ? axis + d.length : axis;
    if (d && typeof d[a] === "number") return this.i64([d[a] as number]);
    return this.op("Gather", [this.shapeOf(x), this.i64([axis])], { axis: 0 });
  }

  mul(a: string, b: string): string {
    return this.op("Mul", [a, b]);
  }
  add(a: string, b: string): string {
    return this.op("Add", [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op("Sub", [a, b]);
  }
  div(a: string, b: string): string {
    return this.op("Div", [a, b]);
  }
  neg(a: string): string {
    return this.op("Neg", [a]);
  }

  /** Float zeros with the shape of `x`. */
  zerosLike(x: string): string {
    return this.op("ConstantOfShape", [this.shapeOf(x)], {
      value: floatTensor("value", [1], [0]),
    });
  }

  /** Number of elements of `x` as a float scalar-like [1] tensor, static when possible. */
  count(x: string): string {
    const s = this.staticDims(x);
    if (s) return this.f32(s.reduce((a, b) => a * b, 1));
    return this.op("Cast", [this.op("Size", [x])], { to: DType.FLOAT });
  }

  /**
   * Sums `g` (shaped like the broadcast result `y`, a tensor name or dims) down to the shape of operand `x`: over
   * leading extra axes and over axes where `x` has extent 1. Static axes when both shapes are
   * known, else computed at run time from Shape ops.
   */
  reduceTo(g: string, y: string | Dim[] | undefined, x: string): string {
    const yd = typeof y === "string" ? this.dims(y) : y;
    const xd = this.dims(x);
    if (yd && xd) {
      if (xd.length > yd.length) {
        throw new Error(`broadcast: operand "${x}" has higher rank than its gradient`);
      }
      const lead = yd.length - xd.length;
      const axes: number[] = [];
      for (let i = 0; i < lead; i++) axes.push(i);
      for (let i = 0; i < xd.length; i++) {
        if (xd[i] === 1 && yd[lead + i] !== 1) axes.push(lead + i);
      }
      if (axes.length === 0) return g;
      const r = this.reduce("ReduceSum", g, axes, true);
      return lead > 0 ? this.op("Reshape", [r, this.shapeOf(x)]) : r;
    }
    // Run time: pad x's shape with leading ones to g's rank, sum over axes where it is 1.
    const sg = this.op("Shape", [g]);
    const sx = this.op("Shape", [x]);
    const lead = this.op("Sub", [this.op("Size", [sg]), this.op("Size", [sx])]);
    const ones = this.op("ConstantOfShape", [this.op("Reshape", [lead, this.i64([1])])], {
      value: int64Tensor("value", [1], [1]),
    });
    const padded = this.op("Concat", [ones, sx], { axis: 0 });
    const isOne = this.op("Equal", [padded, this.i64([1], [])]);
    const axes = this.op("Reshape", [this.op("NonZero", [isOne]), this.i64([-1])]);
    const r = this.op("ReduceSum", [g, axes], { keepdims: 1, noop_with_empty_axes: 1 });
    return this.op("Reshape", [r, sx]);
  }
}
