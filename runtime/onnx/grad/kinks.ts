/**
 * Kinks, for checking gradients against finite differences. Piecewise-linear ops (ReLU, Clip,
 * max-pooling, ...) have kinks where their derivative jumps; a finite difference whose segment
 * x ± h·v crosses one measures neither side's derivative, and on a ReLU net (tens of thousands
 * of ReLU inputs, some within 1e-5 of zero) that error is as large as a wrong VJP rule's, at
 * every step float32 can resolve.
 *
 * Two rewrites of a model serve the check. `witness` adds outputs that change exactly when an
 * input crosses a kink: the sign of a ReLU's input, the region of a Clip's, MaxPool's argmax
 * Indices. `frozen` also takes those witnesses, measured at a base point x, as inputs and
 * computes every watched op along the branch it took at x: ReLU becomes a multiply by its mask,
 * MaxPool a Gather at its argmax. The frozen model equals the model wherever the witnesses
 * agree with x's, so it has the same derivative at x, and it is smooth around x: its finite
 * differences need no kink-free segment.
 */
import {
  DType,
  floatTensor,
  getAttr,
  int64Tensor,
  isDefaultDomain,
  node,
  opsetVersion,
} from "../builder.ts";
import { type ModelProto, type NodeProto, onnxNs, type TensorProto } from "../proto.ts";

/** Emits nodes and constants with names unused in the model. */
class Kit {
  readonly nodes: NodeProto[] = [];
  readonly inits: TensorProto[] = [];
  private counter = 0;
  private readonly consts = new Map<number, string>();

  constructor(private readonly taken: Set<string>) {}

  fresh(hint: string): string {
    for (;;) {
      const name = `kink/${hint}_${this.counter++}`;
      if (!this.taken.has(name)) {
        this.taken.add(name);
        return name;
      }
    }
  }

  /** A float32 scalar. */
  f32(v: number): string {
    let name = this.consts.get(v);
    if (!name) {
      name = this.fresh("const");
      this.inits.push(floatTensor(name, [], [v]));
      this.consts.set(v, name);
    }
    return name;
  }

  /** A 1-D int64 constant. */
  i64(values: number[]): string {
    const name = this.fresh("const");
    this.inits.push(int64Tensor(name, [values.length], values));
    return name;
  }

  /** One node; its output is `to` or a fresh name. */
  op(opType: string, inputs: string[], attrs: Parameters<typeof node>[3] = {}, to?: string) {
    const out = to ?? this.fresh(opType);
    this.nodes.push(node(opType, inputs, [out], attrs, { name: out }));
    return out;
  }
}

interface KinkOp {
  /** Whether this node's kinks can be watched (else it counts as unwatched). */
  supported?(n: NodeProto): boolean;
  /** Witness tensors at the point the graph runs at: bool, or int64 for MaxPool's Indices. */
  witness(k: Kit, n: NodeProto, opset: number): string[];
  /** Emits nodes computing n's output along the branches `base` (the witnesses at x) record. */
  frozen(k: Kit, n: NodeProto, base: string[], opset: number): void;
}

const attr = (n: NodeProto, name: string, fallback: number) =>
  (getAttr(n, name) as number | undefined) ?? fallback;

/** A kink at x = 0 between x and another branch. */
function atZero(neg: (k: Kit, n: NodeProto, x: string) => string): KinkOp {
  return {
    witness: (k, n) => [k.op("Greater", [n.input![0], k.f32(0)])],
    frozen: (k, n, [pos]) => {
      const x = n.input![0];
      k.op("Where", [pos, x, neg(k, n, x)], {}, n.output![0]);
    },
  };
}

/** Clip's bounds as tensor names (inputs from opset 11, attributes before), absent when unset. */
function clipBounds(k: Kit, n: NodeProto, opset: number): (string | undefined)[] {
  if (opset >= 11) return [n.input![1] || undefined, n.input![2] || undefined];
  return ["min", "max"].map((a) => {
    const v = getAttr(n, a) as number | undefined;
    return v === undefined ? undefined : k.f32(v);
  });
}

/** HardSigmoid's line αx + β, clipped to [0, 1] by the op. */
const hardSigmoidLine = (k: Kit, n: NodeProto) =>
  k.op("Add", [
    k.op("Mul", [n.input![0], k.f32(attr(n, "alpha", 0.2))]),
    k.f32(attr(n, "beta", 0.5)),
  ]);

export const kinkOps: Record<string, KinkOp> = {
  Relu: atZero((k) => k.f32(0)),
  LeakyRelu: atZero((k, n, x) => k.op("Mul", [x, k.f32(attr(n, "alpha", 0.01))])),
  Abs: atZero((k, _n, x) => k.op("Neg", [x])),
  Clip: {
    witness: (k, n, opset) => {
      const [lo, hi] = clipBounds(k, n, opset);
      const x = n.input![0];
      return [
        ...(lo ? [k.op("Greater", [x, lo])] : []),
        ...(hi ? [k.op("Less", [x, hi])] : []),
      ];
    },
    frozen: (k, n, base, opset) => {
      const [lo, hi] = clipBounds(k, n, opset);
      const [above, below] = lo ? base : [undefined, base[0]];
      const capped = hi ? k.op("Where", [below, n.input![0], hi]) : n.input![0];
      if (lo) k.op("Where", [above!, capped, lo], {}, n.output![0]);
      else k.op("Identity", [capped], {}, n.output![0]);
    },
  },
  HardSigmoid: {
    witness: (k, n) => {
      const line = hardSigmoidLine(k, n);
      return [k.op("Greater", [line, k.f32(0)]), k.op("Less", [line, k.f32(1)])];
    },
    frozen: (k, n, [above0, below1]) => {
      const inner = k.op("Where", [below1, hardSigmoidLine(k, n), k.f32(1)]);
      k.op("Where", [above0, inner, k.f32(0)], {}, n.output![0]);
    },
  },
  HardSwish: {
    // x·clip(x/6 + 1/2, 0, 1): kinks at ±3.
    witness: (k, n) => [
      k.op("Greater", [n.input![0], k.f32(-3)]),
      k.op("Less", [n.input![0], k.f32(3)]),
    ],
    frozen: (k, n, [above, below]) => {
      const x = n.input![0];
      const mid = k.op("Mul", [x, k.op("Add", [k.op("Mul", [x, k.f32(1 / 6)]), k.f32(0.5)])]);
      k.op("Where", [above, k.op("Where", [below, mid, x]), k.f32(0)], {}, n.output![0]);
    },
  },
  Max: {
    supported: (n) => n.input!.length === 2,
    witness: (k, n) => [k.op("Greater", [n.input![0], n.input![1]])],
    frozen: (k, n, [first]) =>
      void k.op("Where", [first, n.input![0], n.input![1]], {}, n.output![0]),
  },
  Min: {
    supported: (n) => n.input!.length === 2,
    witness: (k, n) => [k.op("Greater", [n.input![0], n.input![1]])],
    frozen: (k, n, [first]) =>
      void k.op("Where", [first, n.input![1], n.input![0]], {}, n.output![0]),
  },
  MaxPool: {
    // Indices over the flattened input, row-major (storage_order 0); a used Indices output
    // would need the frozen node to produce it too.
    supported: (n) => attr(n, "storage_order", 0) === 0 && !n.output![1],
    witness: (k, n) => {
      const indices = k.fresh("indices");
      k.nodes.push(
        onnxNs.NodeProto.create({ ...n, name: indices, output: [k.fresh("unused"), indices] }),
      );
      return [indices];
    },
    frozen: (k, n, [indices]) => {
      const flat = k.op("Reshape", [n.input![0], k.i64([-1])]);
      k.op("Gather", [flat, indices], { axis: 0 }, n.output![0]);
    },
  },
};

/** Ops with a gradient rule and kinks that are not frozen (grad-check reports them). */
const UNWATCHED = new Set(["GlobalMaxPool"]);

export interface KinkModel {
  model: ModelProto;
  /** Witness outputs, after the model's own outputs. */
  witnesses: string[];
  /** For `frozen`: the inputs that take the witnesses measured at the base point, in order. */
  base: string[];
  /** Watched nodes by op type. */
  watched: Record<string, number>;
  /** Nodes with kinks and no witness, by op type. */
  unwatched: Record<string, number>;
}

/** The model with kink witnesses as extra outputs, and for `frozen` its kinks fixed at a base. */
export function kinkModel(model: ModelProto, mode: "witness" | "frozen"): KinkModel {
  const g = model.graph!;
  const taken = new Set<string>();
  for (const n of g.node ?? []) for (const t of [...n.input ?? [], ...n.output ?? []]) taken.add(t);
  for (const t of [...g.initializer ?? [], ...g.input ?? []]) taken.add(t.name!);
  const k = new Kit(taken);
  const opset = opsetVersion(model);
  const witnesses: string[] = [];
  const base: { name: string; type: number }[] = [];
  const watched: Record<string, number> = {};
  const unwatched: Record<string, number> = {};
  for (const n of g.node ?? []) {
    const op = isDefaultDomain(n) ? n.opType! : "";
    const kink = kinkOps[op];
    if (!kink || (kink.supported && !kink.supported(n))) {
      if (UNWATCHED.has(op) || kink) unwatched[op] = (unwatched[op] ?? 0) + 1;
      k.nodes.push(n);
      continue;
    }
    watched[op] = (watched[op] ?? 0) + 1;
    const w = kink.witness(k, n, opset);
    witnesses.push(...w);
    if (mode === "witness") {
      k.nodes.push(n);
      continue;
    }
    const b = w.map(() => k.fresh("base"));
    const type = op === "MaxPool" ? DType.INT64 : DType.BOOL;
    base.push(...b.map((name) => ({ name, type })));
    kink.frozen(k, n, b, opset);
  }
  const graph = onnxNs.GraphProto.create({
    ...g,
    node: k.nodes,
    initializer: [...g.initializer ?? [], ...k.inits],
    input: [
      ...g.input ?? [],
      ...base.map(({ name, type }) =>
        onnxNs.ValueInfoProto.create({ name, type: { tensorType: { elemType: type } } })
      ),
    ],
    output: [...g.output ?? [], ...witnesses.map((name) => onnxNs.ValueInfoProto.create({ name }))],
  });
  return {
    model: onnxNs.ModelProto.create({ ...model, graph }),
    witnesses,
    base: base.map((b) => b.name),
    watched,
    unwatched,
  };
}
