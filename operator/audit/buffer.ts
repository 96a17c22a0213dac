// Records waiting for the database, oldest first, bounded. A batch being
// written stays in the buffer until the write is acknowledged, so a failure
// loses nothing; when the bound is reached the oldest record not being
// written goes, and the loss is counted for the caller to log and export.

export class AuditBuffer<T> {
  private items: T[] = [];
  /** How many of the oldest items a write has taken and not yet settled. */
  private inFlight = 0;
  private droppedTotal = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`audit buffer capacity must be at least 1, got ${capacity}`);
  }

  get size(): number {
    return this.items.length;
  }

  /** Records lost to the bound since the buffer was made. */
  get dropped(): number {
    return this.droppedTotal;
  }

  get writing(): boolean {
    return this.inFlight > 0;
  }

  /** Adds `item`; returns how many records the bound pushed out (0 or 1). */
  push(item: T): number {
    this.items.push(item);
    if (this.items.length <= this.capacity) return 0;
    // The oldest one no write holds; if a write holds them all, the newcomer.
    const victim = this.inFlight < this.items.length - 1 ? this.inFlight : this.items.length - 1;
    this.items.splice(victim, 1);
    this.droppedTotal += 1;
    return 1;
  }

  /** The oldest `max` records, held for one write until `settle`; none while another write is out. */
  take(max: number): T[] {
    if (this.inFlight > 0 || max < 1) return [];
    const batch = this.items.slice(0, max);
    this.inFlight = batch.length;
    return batch;
  }

  /** The write of the taken batch ended: written records leave, failed ones stay for the next try. */
  settle(written: boolean): void {
    if (written) this.items.splice(0, this.inFlight);
    this.inFlight = 0;
  }
}
