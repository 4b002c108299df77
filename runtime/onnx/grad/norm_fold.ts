/**
 * Moves a LayerNormalization's affine (γ, β) into the one linear layer it feeds — a MatMul and its
 * bias Add (ViT blocks), or, through the channels-first Transpose, a Conv without padding
 * (ConvNeXt blocks) — and lets the LayerNormalization emit its InvStdDev. Its VJP then takes x̂
 * and 1/σ from the forward node instead of recomputing the normalisation, and skips the multiply
 * by γ: one full-size LayerNormalization and one Mul fewer per block. Unlike the GELU fold this
 * is not bit-exact: γ's products move into the layer's sums (last-bit differences forward).
 */
import { consumersOf, floatTensor, getAttr, isDefaultDomain } from "../builder.ts";
import type { NodeProto, TensorProto } from "../proto.ts";
import { readTensor } from "./tensor.ts";

/** A float initializer's values, also when it reaches the node through Identity nodes. */
function floatInit(
  tensors: ReadonlyMap<string, TensorProto>,
  alias: ReadonlyMap<string, string>,
  name: string | undefined,
) {
  while (name && !tensors.has(name) && alias.has(name)) name = alias.get(name);
  const t = name ? tensors.get(name) : undefined;
  return t && t.dataType === 1 ? readTensor(t) : undefined;
}

export function foldNormAffine(
  nodes: readonly NodeProto[],
  tensors: ReadonlyMap<string, TensorProto>,
  graphOutputs: ReadonlySet<string>,
  fresh: (hint: string) => string,
): { nodes: NodeProto[]; initializers: TensorProto[] } {
  const users = consumersOf(nodes);
  const alias = new Map<string, string>();
  for (const n of nodes) {
    // torch exports shared parameters through Identity nodes.
    if (n.opType === "Identity" && isDefaultDomain(n)) alias.set(n.output![0], n.input![0]);
  }
  const init = (name: string | undefined) => floatInit(tensors, alias, name);
  /** The one node reading `t`'s values (Shape nodes read only its shape, which stays). */
  const soleUser = (t: string) => {
    const u = (users.get(t) ?? []).filter((n) => !(n.opType === "Shape" && isDefaultDomain(n)));
    return u.length === 1 && !graphOutputs.has(t) && isDefaultDomain(u[0]) ? u[0] : undefined;
  };
  const replaced = new Map<NodeProto, NodeProto>();
  const initializers: TensorProto[] = [];
  const add = (hint: string, dims: number[], data: ArrayLike<number>) => {
    const t = floatTensor(fresh(hint), dims, data);
    initializers.push(t);
    return t.name!;
  };

  for (const ln of nodes) {
    if (ln.opType !== "LayerNormalization" || !isDefaultDomain(ln)) continue;
    if (((getAttr(ln, "axis") as number | undefined) ?? -1) !== -1) continue;
    if ((ln.output ?? []).slice(1).some((o) => o !== "")) continue;
    const [x, scaleName, biasName] = ln.input!;
    const gamma = init(scaleName);
    const beta = biasName ? init(biasName) : undefined;
    if (!gamma || gamma.dims.length !== 1 || (biasName && !beta)) continue;
    const C = gamma.dims[0];
    const b0 = (c: number) => (beta ? beta.data[c] : 0);
    const y = ln.output![0];
    const user = soleUser(y);
    if (!user) continue;

    if (user.opType === "MatMul" && user.input![0] === y && user.input![1] !== y) {
      const w = init(user.input![1]);
      if (!w || w.dims.length !== 2 || w.dims[0] !== C) continue;
      const O = w.dims[1];
      const h = user.output![0];
      const addNode = soleUser(h);
      const biasIdx = addNode?.opType === "Add" ? addNode.input!.findIndex((i) => i !== h) : -1;
      const bias = biasIdx >= 0 ? init(addNode!.input![biasIdx]) : undefined;
      const betaNonZero = beta !== undefined && beta.data.some((v) => v !== 0);
      if (bias && !(bias.dims.length === 1 && bias.dims[0] === O)) continue;
      if (betaNonZero && !bias) continue;
      const wd = new Float64Array(C * O);
      for (let c = 0; c < C; c++) {
        for (let o = 0; o < O; o++) wd[c * O + o] = w.data[c * O + o] * gamma.data[c];
      }
      replaced.set(user, { ...user, input: [y, add("ln_fold_weights", [C, O], wd)] });
      if (bias) {
        const bd = Float64Array.from(bias.data);
        for (let o = 0; o < O; o++) for (let c = 0; c < C; c++) bd[o] += b0(c) * w.data[c * O + o];
        const input = [...addNode!.input!];
        input[biasIdx] = add("ln_fold_bias", [O], bd);
        replaced.set(addNode!, { ...addNode!, input });
      }
    } else if (user.opType === "Transpose") {
      const perm = getAttr(user, "perm") as number[] | undefined;
      const r = perm?.length ?? 0;
      const channelsFirst = r >= 3 && perm![0] === 0 && perm![1] === r - 1 &&
        perm!.slice(2).every((p, i) => p === i + 1);
      const u = user.output![0];
      const conv = channelsFirst ? soleUser(u) : undefined;
      if (!conv || conv.opType !== "Conv" || conv.input![0] !== u) continue;
      const pads = (getAttr(conv, "pads") as number[] | undefined) ?? [];
      const autoPad = (getAttr(conv, "auto_pad") as string | undefined) ?? "NOTSET";
      const group = (getAttr(conv, "group") as number | undefined) ?? 1;
      if (group !== 1 || pads.some((p) => p !== 0) || !["NOTSET", "VALID"].includes(autoPad)) {
        continue;
      }
      const w = init(conv.input![1]);
      const bias = conv.input![2] ? init(conv.input![2]) : undefined;
      if (!w || w.dims[1] !== C || (conv.input![2] && !bias)) continue;
      const O = w.dims[0];
      const taps = w.data.length / (O * C);
      const wd = new Float64Array(w.data.length);
      const bd = new Float64Array(O);
      for (let o = 0; o < O; o++) {
        bd[o] = bias ? bias.data[o] : 0;
        for (let c = 0; c < C; c++) {
          for (let k = 0; k < taps; k++) {
            const i = (o * C + c) * taps + k;
            wd[i] = w.data[i] * gamma.data[c];
            bd[o] += w.data[i] * b0(c);
          }
        }
      }
      replaced.set(conv, {
        ...conv,
        input: [u, add("ln_fold_weights", w.dims, wd), add("ln_fold_bias", [O], bd)],
      });
    } else continue;

    replaced.set(ln, {
      ...ln,
      input: [
        x,
        add("ln_unit_scale", [C], new Float64Array(C).fill(1)),
        add("ln_zero_bias", [C], new Float64Array(C)),
      ],
      output: [y, fresh("ln_mean"), fresh("ln_inv_std")],
    });
  }
  return { nodes: nodes.map((n) => replaced.get(n) ?? n), initializers };
}
