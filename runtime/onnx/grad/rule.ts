/**
 * The shape of a vector-Jacobian product rule. One rule per ONNX op: given the gradients of the
 * node's outputs, it emits nodes computing the gradients of the inputs that need one.
 */
import type { NodeProto } from "../proto.ts";
import type { GradContext } from "./context.ts";

export interface VjpRule {
  /** Input indices gradients can flow through; the others (shapes, indices, masks) never do. */
  diff: number[];
  /** Output indices that carry gradients (default [0]); "all" for ops like Split. */
  outputs?: number[] | "all";
  /**
   * Gradients for each input (undefined where `needs[i]` is false). `gOut[k]` is the gradient of
   * output k, undefined when nothing downstream depends on it.
   */
  vjp(
    ctx: GradContext,
    node: NodeProto,
    gOut: (string | undefined)[],
    needs: boolean[],
  ): (string | undefined)[];
}

/** Rules keyed by op type, with a "domain:" prefix for non-default domains. */
export type RuleTable = Record<string, VjpRule>;

/** The key a node's rule is stored under. */
export function ruleKey(n: NodeProto): string {
  const d = n.domain ?? "";
  return d === "" || d === "ai.onnx" ? n.opType ?? "" : `${d}:${n.opType}`;
}

/** Inputs of a node, with empty names for omitted optional inputs. */
export function inputs(n: NodeProto): string[] {
  return n.input ?? [];
}
