// The replication slot of a policy's WAL receiver, dropped when the receiver
// stops for good (suspend, incremental removed): a slot nobody reads makes
// the server keep every WAL file until its disk is full.
import pg from 'pg';

export type SlotState = 'absent' | 'active' | 'dropped';

/** Drops `slot` unless a receiver still holds it; says which it found. */
export async function dropIdleSlot(databaseUrl: string, slot: string): Promise<SlotState> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: 5_000,
    query_timeout: 10_000,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const found = await client.query<{ active: boolean }>(
      'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    const row = found.rows[0];
    if (!row) return 'absent';
    // A receiver still stopping holds it; the next pass drops it.
    if (row.active) return 'active';
    await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
    return 'dropped';
  } finally {
    await client.end().catch(() => undefined);
  }
}
