/**
 * Sampled sub-explanation trees a level deeper than `sampleTrees` keeps (root and children), for the
 * report's explorer, drawn as the paper's Fig. 4 (METHODS §11). A child is expanded only where the count expanded
 * it (`r >= expandThreshold`), so its children are already in the memo and cost no evaluation.
 * Its own file so that mse-search, which imports subtree.ts, keeps its cache key.
 */
import type { Memo } from "./memo.ts";
import { fromIndices } from "./patchset.ts";
import { sampleTrees, type SubtreeOptions, type TreeSample } from "./subtree.ts";

export interface SampleNode {
  patches: number[];
  ratio: number;
  /** The patch the parent lost to make this node; absent on a root. */
  removed?: number;
  children: SampleNode[];
}

/** `samples` as trees `depth` levels deep below each root (1 = as given). */
export async function deepenSamples(
  memo: Memo,
  samples: readonly TreeSample[],
  depth: number,
  mode: SubtreeOptions["children"],
  expandThreshold: number,
): Promise<SampleNode[]> {
  const grow = async (node: SampleNode, level: number): Promise<SampleNode> => {
    if (level >= depth || node.ratio < expandThreshold || node.patches.length <= 1) return node;
    const [sub] = await sampleTrees(memo, [fromIndices(node.patches)], 1, mode);
    const children = sub.children.map((c) => ({ ...c, children: [] }));
    return { ...node, children: await Promise.all(children.map((c) => grow(c, level + 1))) };
  };
  return await Promise.all(samples.map(async (s) => ({
    ...s.root,
    children: await Promise.all(
      s.children.map((c) => grow({ ...c, children: [] }, 1)),
    ),
  })));
}
