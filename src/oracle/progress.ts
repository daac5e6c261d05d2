import type { KvmEvent, Sink } from '../kvm/events.js';

/** Something the run waits for, and since when. */
interface Awaited {
  what: string;
  since: number;
}

/**
 * Tracks the events a run awaits — a fault being resolved, a memslot update or
 * zap completing, an APIC-access reload succeeding, an invalidation ending — so
 * drivers can tell work pending with no progress (a livelock) from idleness.
 */
export class ProgressMonitor implements Sink {
  private readonly open = new Map<string, Awaited>();

  on(ev: KvmEvent): void {
    switch (ev.e) {
      case 'faultBegin': {
        const k = `fault${ev.vcpu}`;
        if (!this.open.has(k)) this.open.set(k, { what: `vCPU${ev.vcpu}'s fault on gfn 0x${ev.gfn.toString(16)}`, since: ev.ts });
        return;
      }
      case 'faultEnd':
        if (!ev.ret.startsWith('retry')) this.open.delete(`fault${ev.vcpu}`);
        return;
      case 'memslotChange':
        if (ev.phase === 'begin') this.open.set(`memslot${ev.slot}`, { what: `memslot ${ev.slot} ${ev.op}`, since: ev.ts });
        else if (ev.phase === 'done') this.open.delete(`memslot${ev.slot}`);
        return;
      case 'zapAllBegin':
        this.open.set(`zap${ev.tid}`, { what: ev.how, since: ev.ts });
        return;
      case 'zapAllEnd':
        this.open.delete(`zap${ev.tid}`);
        return;
      case 'apicReload': {
        const k = `apic${ev.vcpu}`;
        if (ev.outcome === 'retry') {
          if (!this.open.has(k)) this.open.set(k, { what: `vCPU${ev.vcpu}'s APIC-access page reload`, since: ev.ts });
        } else this.open.delete(k);
        return;
      }
      case 'invalidateRangeStart':
        this.open.set(`inv${ev.tid}`, { what: `${ev.kind} invalidation`, since: ev.ts });
        return;
      case 'invalidateRangeEnd':
        this.open.delete(`inv${ev.tid}`);
        return;
      default:
        return;
    }
  }

  /** The longest-outstanding awaited event, with its age at `now`, or null. */
  oldest(now: number): { what: string; ageNs: number } | null {
    let best: Awaited | null = null;
    for (const a of this.open.values()) if (best === null || a.since < best.since) best = a;
    return best === null ? null : { what: best.what, ageNs: now - best.since };
  }

  /** Everything outstanding, described. */
  describe(now: number): string | null {
    if (this.open.size === 0) return null;
    return [...this.open.values()].map((a) => `${a.what} pending for ${now - a.since} ns`).join('; ');
  }
}
