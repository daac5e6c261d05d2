import { ModelBug } from '../runtime/model-bug.js';
import type { ShadowPage } from './shadow-page.js';

/**
 * kvm->arch.active_mmu_pages: every valid shadow page, newest at the head. An
 * intrusive doubly-linked list through ShadowPage.newer/older, so adding and
 * removing are O(1) and walking from either end allocates nothing.
 */
export class ActiveMmuPages {
  /** Newest page (list_add puts new pages here). */
  head: ShadowPage | null = null;
  /** Oldest page (kvm_zap_obsolete_pages starts here). */
  tail: ShadowPage | null = null;
  /** Pages on the list. */
  count = 0;

  /** list_add: at the head. */
  add(sp: ShadowPage): void {
    if (sp.onActiveList) throw new ModelBug(`sp ${sp.id} added to active_mmu_pages twice`);
    sp.older = this.head;
    sp.newer = null;
    if (this.head !== null) this.head.newer = sp;
    else this.tail = sp;
    this.head = sp;
    sp.onActiveList = true;
    this.count++;
  }

  /** list_del. */
  remove(sp: ShadowPage): void {
    if (!sp.onActiveList) throw new ModelBug(`sp ${sp.id} removed from active_mmu_pages but not on it`);
    if (sp.newer !== null) sp.newer.older = sp.older;
    else this.head = sp.older;
    if (sp.older !== null) sp.older.newer = sp.newer;
    else this.tail = sp.newer;
    sp.newer = null;
    sp.older = null;
    sp.onActiveList = false;
    this.count--;
  }
}

/**
 * kvm->arch.mmu_page_hash: shadow pages by the gfn they shadow, for
 * kvm_mmu_get_shadow_page and for zapping what shadows a gfn. Pages stay in it
 * until freed (lookups skip obsolete ones).
 */
export class MmuPageHash {
  private readonly buckets = new Map<number, ShadowPage[]>();

  add(sp: ShadowPage): void {
    const b = this.buckets.get(sp.gfn);
    if (b === undefined) this.buckets.set(sp.gfn, [sp]);
    else b.push(sp);
  }

  remove(sp: ShadowPage): void {
    const b = this.buckets.get(sp.gfn);
    const i = b === undefined ? -1 : b.indexOf(sp);
    if (b === undefined || i < 0) throw new ModelBug(`sp ${sp.id} not in mmu_page_hash`);
    b[i] = b[b.length - 1]!;
    b.pop();
    if (b.length === 0) this.buckets.delete(sp.gfn);
  }

  /** Every page shadowing `gfn`, obsolete ones included (callers filter). */
  bucket(gfn: number): readonly ShadowPage[] {
    return this.buckets.get(gfn) ?? EMPTY;
  }

  /** The gfns in [start, end) some page shadows, ascending. */
  gfnsIn(start: number, end: number): number[] {
    const out: number[] = [];
    for (const g of this.buckets.keys()) if (g >= start && g < end) out.push(g);
    return out.sort((a, b) => a - b);
  }
}

const EMPTY: readonly ShadowPage[] = [];
