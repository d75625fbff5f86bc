// jemalloc's pairing heap (ph.h), link for link, over extent records in snad order (serial number, then address).
// The bins' non-full slabs and every eset bin are such heaps. Which extent is "first" depends on the heap's shape,
// not only on its order: remove() of a childless root promotes the first aux entry without comparing it to the
// rest of the aux list, and a later insert below that root adopts the unmerged list as its children, so the heap
// order can break and first() can return an extent that is not the least. The model keeps the shape exactly.
//
//   heap (PH_BYTES = 16)                   node links, inside the extent record (extent.ts)
//   ╒═════════════════╤═════════════════╕  ╒════════════╤════════════╤════════════╕
//   │ root            │ auxcount        │  │ prev (+48) │ next (+56) │ lchild(+80)│
//   ╘═════════════════╧═════════════════╛  ╘════════════╧════════════╧════════════╛
//
//   root ─next─▶ aux ─next─▶ aux …     the aux list: inserts not yet merged, hanging off the root's next
//    │
//  lchild ─▶ child ─next─▶ sibling …   children: a sibling list, each with its own lchild; prev points to the
//                                      left sibling, or to the parent for a leftmost child
//
// Insert puts a node on the aux list (or makes it the root when it sorts below the root), then after the n-th
// insert since the last merge pairs the two newest aux entries up to ctz(n − 1) times (jemalloc's ffs is
// 0-based). first and remove_first merge the aux list (a multipass merge of the siblings, then with the root);
// remove_first then merges the root's children.

import { ld64, st64 } from "../common/vmem";
import { Scratch } from "../common/scratch";
import { ePrev, setEPrev, eNext, setENext, eLchild, setELchild, snadLess } from "./extent";

export const PH_BYTES: u64 = 16;

// @ts-ignore: decorator
@inline function root(h: u64): u64 { return ld64(h); }
// @ts-ignore: decorator
@inline function setRoot(h: u64, n: u64): void { st64(h, n); }
// @ts-ignore: decorator
@inline function auxcount(h: u64): u64 { return ld64(h + 8); }
// @ts-ignore: decorator
@inline function setAuxcount(h: u64, n: u64): void { st64(h + 8, n); }

/** The heap's root (0 when empty); with an unmerged aux list, not necessarily its least node. */
// @ts-ignore: decorator
@inline export function phRoot(h: u64): u64 { return root(h); }

/** ph_empty. */
// @ts-ignore: decorator
@inline export function phEmpty(h: u64): bool { return root(h) == 0; }

/** ph_new. */
export function phNew(h: u64): void {
  setRoot(h, 0);
  setAuxcount(h, 0);
}

/** phn_merge_ordered: `b` (not less than `a`) becomes `a`'s leftmost child. */
function mergeOrdered(a: u64, b: u64): void {
  setEPrev(b, a);
  const child = eLchild(a);
  setENext(b, child);
  if (child != 0) setEPrev(child, b);
  setELchild(a, b);
}

/** phn_merge: links two heaps; the lesser root wins, the later one on a tie. */
function merge(a: u64, b: u64): u64 {
  if (a == 0) return b;
  if (b == 0) return a;
  if (snadLess(a, b)) {
    mergeOrdered(a, b);
    return a;
  }
  mergeOrdered(b, a);
  return b;
}

/** Detaches `n` from its sibling list (prev and next cleared). */
// @ts-ignore: decorator
@inline function detach(n: u64): void {
  setEPrev(n, 0);
  setENext(n, 0);
}

/**
 * phn_merge_siblings: the multipass merge. Pairs the sibling list front to back into a FIFO of heaps, then
 * repeatedly merges the FIFO's first two heaps and appends the result, until one heap is left.
 */
function mergeSiblings(first: u64): u64 {
  let a = first;
  let b = eNext(a);
  if (b == 0) return a;
  let rest = eNext(b);
  if (rest != 0) setEPrev(rest, 0);
  detach(a);
  detach(b);
  a = merge(a, b);
  let head = a;
  let tail = a;
  a = rest;
  while (a != 0) {
    b = eNext(a);
    if (b != 0) {
      rest = eNext(b);
      if (rest != 0) setEPrev(rest, 0);
      detach(a);
      detach(b);
      a = merge(a, b);
      setENext(tail, a);
      tail = a;
      a = rest;
    } else {
      setENext(tail, a);
      tail = a;
      a = 0;
    }
  }
  a = head;
  b = eNext(a);
  if (b != 0) {
    while (true) {
      head = eNext(b);
      setENext(a, 0);
      setENext(b, 0);
      a = merge(a, b);
      if (head == 0) break;
      setENext(tail, a);
      tail = a;
      a = head;
      b = eNext(a);
    }
  }
  return a;
}

/** ph_merge_aux: merges the aux list into the root. */
function mergeAux(h: u64): void {
  setAuxcount(h, 0);
  const r = root(h);
  let n = eNext(r);
  if (n == 0) return;
  detach(r);
  setEPrev(n, 0);
  n = mergeSiblings(n);
  setRoot(h, merge(r, n));
}

/** ph_merge_children: the merged children of `n` (0 when it has none). */
// @ts-ignore: decorator
@inline function mergeChildren(n: u64): u64 {
  const child = eLchild(n);
  return child == 0 ? 0 : mergeSiblings(child);
}

/** ph_first: merges the aux list and returns the root. */
export function phFirst(h: u64): u64 {
  if (root(h) == 0) return 0;
  mergeAux(h);
  return root(h);
}

/** ph_try_aux_merge_pair: links the two newest aux entries; true when there is nothing more to pair. */
function tryAuxMergePair(h: u64): bool {
  const r = root(h);
  let a = eNext(r);
  if (a == 0) return true;
  const b = eNext(a);
  if (b == 0) return true;
  const after = eNext(b);
  detach(a);
  detach(b);
  a = merge(a, b);
  setENext(a, after);
  if (after != 0) setEPrev(after, a);
  setENext(r, a);
  setEPrev(a, r);
  return after == 0;
}

/** ph_insert. */
export function phInsert(h: u64, n: u64): void {
  setEPrev(n, 0);
  setENext(n, 0);
  setELchild(n, 0);
  const r = root(h);
  if (r == 0) {
    setRoot(h, n);
  } else {
    if (snadLess(n, r)) {
      setELchild(n, r);
      setEPrev(r, n);
      setRoot(h, n);
      setAuxcount(h, 0);
      return;
    }
    setAuxcount(h, auxcount(h) + 1);
    const aux = eNext(r);
    setENext(n, aux);
    if (aux != 0) setEPrev(aux, n);
    setEPrev(n, r);
    setENext(r, n);
  }
  const count = auxcount(h);
  if (count > 1) {
    const merges = <u32>ctz(count - 1);
    for (let i: u32 = 0; i < merges; i++) {
      if (tryAuxMergePair(h)) break;
    }
  }
}

/** ph_remove_first: the root after merging the aux list, taken out. */
export function phRemoveFirst(h: u64): u64 {
  if (root(h) == 0) return 0;
  mergeAux(h);
  const r = root(h);
  setRoot(h, mergeChildren(r));
  return r;
}

/** ph_remove: takes `n` out wherever it sits (the root, the aux list or a subtree). */
export function phRemove(h: u64, n: u64): void {
  if (root(h) == n) {
    // A childless root hands over to the first aux entry, unmerged.
    if (eLchild(n) == 0) {
      const next = eNext(n);
      setRoot(h, next);
      if (next != 0) setEPrev(next, 0);
      return;
    }
    mergeAux(h);
    if (root(h) == n) {
      setRoot(h, mergeChildren(n));
      return;
    }
  }
  // The parent, when n is a leftmost child.
  let parent = ePrev(n);
  if (parent != 0 && eLchild(parent) != n) parent = 0;
  const replace = mergeChildren(n);
  const prev = ePrev(n);
  const next = eNext(n);
  if (replace != 0) {
    if (parent != 0) {
      setEPrev(replace, parent);
      setELchild(parent, replace);
    } else {
      setEPrev(replace, prev);
      if (prev != 0) setENext(prev, replace);
    }
    setENext(replace, next);
    if (next != 0) setEPrev(next, replace);
  } else {
    if (parent != 0) {
      setELchild(parent, next);
      if (next != 0) setEPrev(next, parent);
    } else {
      setENext(prev, next);
    }
    if (next != 0) setEPrev(next, prev);
  }
}

/**
 * Every node of the heap (root, aux list, subtrees) into `out`, for walks and checks; false when a back link
 * disagrees (a child whose prev is not its parent, a sibling whose prev is not its left sibling) or the heap
 * holds more than `limit` nodes (a cycle). The root's prev is not looked at: a child promoted to the root by
 * remove_first keeps its stale prev, in jemalloc too.
 */
export function phNodes(h: u64, out: Scratch, limit: u64): bool {
  out.clear();
  const r = root(h);
  if (r == 0) return true;
  store<u64>(out.push(), r);
  for (let i = 0; i < out.count; i++) {
    if (<u64>out.count > limit) return false;
    const n = load<u64>(out.at(i));
    const child = eLchild(n);
    if (child != 0) {
      if (ePrev(child) != n) return false;
      store<u64>(out.push(), child);
    }
    const next = eNext(n);
    if (next != 0) {
      if (ePrev(next) != n) return false;
      store<u64>(out.push(), next);
    }
  }
  return true;
}
