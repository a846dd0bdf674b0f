import { C_DICT, T_CALL, T_CONTAINER, type ContainerValue, type ObjValue, type Value } from './values.js';

/**
 * How much a loaded object expands when walked. Unpickling itself costs memory in proportion to the
 * stream — a memo GET or a DUP adds a reference, not a copy — but code that walks the result as a tree
 * (repr/str, json.dumps, naive recursion, pytree flattening, equality checks) visits a shared object once
 * per reference to it. Nested sharing multiplies: ten lists of ten references each, nine levels deep, is
 * 10^9 visits from a couple of hundred bytes ("billion laughs"). This measures exactly that: the number of
 * nodes a tree walk of each container visits, following every reference and cutting cycles at the first
 * repeat (as repr does), computed over the references the analyser kept.
 *
 * It also counts back-references: a container that holds many references to itself or to an enclosing
 * container (a list appended to itself hundreds of times) sends walkers without cycle detection into
 * endless recursion and depth-limited walkers into N^depth visits.
 */

export interface ExpansionMeasure {
  /** Largest tree-walk size of any container (nodes visited), and the container. */
  maxNodes: number;
  maxAt: ContainerValue | undefined;
  /** Most back-references (to itself or an enclosing container) held by one container, and the container. */
  maxBack: number;
  backAt: ContainerValue | undefined;
}

const CAP = 1e300;
const GRAY = -1;

function itemCount(c: ContainerValue): number {
  return c.kind === C_DICT ? c.count * 2 : c.count;
}

/** The children a walk of `v` follows: a container's kept references, a call's arguments and state. */
function childrenOf(v: ObjValue): readonly Value[] | undefined {
  if (v.t === T_CONTAINER) return v.kids ?? undefined;
  if (v.t === T_CALL) {
    const out: Value[] = [v.args];
    if (v.kwargs !== undefined) out.push(v.kwargs);
    if (v.state !== undefined) out.push(v.state);
    return out;
  }
  return undefined;
}

/** Nodes a value contributes by itself (the container and its constants; one for anything else). */
function ownNodes(v: ObjValue): number {
  if (v.t === T_CONTAINER) return 1 + Math.max(0, itemCount(v) - (v.kids?.length ?? 0));
  return 1;
}

interface Frame {
  node: ObjValue;
  kids: readonly Value[];
  next: number;
  sum: number;
  back: number;
}

/**
 * Measures every container in `roots` (each container holding references, as registered by the analyser).
 * Iterative depth-first search with one memo entry per node: O(nodes + references). Stops early (with
 * what it measured so far, a lower bound) at `deadline`.
 */
export function measureExpansion(roots: readonly ContainerValue[], deadline: number): ExpansionMeasure {
  const size = new Map<ObjValue, number>();
  const result: ExpansionMeasure = { maxNodes: 0, maxAt: undefined, maxBack: 0, backAt: undefined };
  const stack: Frame[] = [];
  let steps = 0;
  const open = (node: ObjValue): void => {
    size.set(node, GRAY);
    stack.push({ node, kids: childrenOf(node) ?? [], next: 0, sum: ownNodes(node), back: 0 });
  };
  for (const root of roots) {
    if (size.has(root)) continue;
    open(root);
    while (stack.length > 0) {
      if ((++steps & 0xffff) === 0 && Date.now() > deadline) return result;
      const f = stack[stack.length - 1]!;
      if (f.next < f.kids.length) {
        const kid = f.kids[f.next++]!;
        if (typeof kid === 'number') {
          f.sum += 1;
          continue;
        }
        const known = size.get(kid);
        if (known === GRAY) {
          // A reference back to itself or to an enclosing container: a walk stops here (repr's [...]).
          f.sum += 1;
          f.back += 1;
        } else if (known !== undefined) f.sum = Math.min(CAP, f.sum + known);
        else if (childrenOf(kid) === undefined) {
          size.set(kid, ownNodes(kid));
          f.sum = Math.min(CAP, f.sum + ownNodes(kid));
        } else open(kid);
        continue;
      }
      stack.pop();
      size.set(f.node, f.sum);
      if (f.node.t === T_CONTAINER) {
        if (f.sum > result.maxNodes) {
          result.maxNodes = f.sum;
          result.maxAt = f.node;
        }
        if (f.back > result.maxBack) {
          result.maxBack = f.back;
          result.backAt = f.node;
        }
      }
      const parent = stack[stack.length - 1];
      if (parent !== undefined) parent.sum = Math.min(CAP, parent.sum + f.sum);
    }
  }
  return result;
}
