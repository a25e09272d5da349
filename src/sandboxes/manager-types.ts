/** The shapes the sandbox manager is configured with and hands to other domains. */

export interface ManagerOptions {
  defaultImage: string;
  sweepIntervalMs: number;
  /** Ready containers to keep per image (the warm pool); empty for none. */
  pool: Record<string, number>;
}

/** A sandbox's disk, handed out while nothing can write it (see `SandboxManager.withDisk`). */
export interface DiskView {
  readonly id: string;
  readonly image: string;
  readonly imageVersion: string;
  /** Snapshot layers under the upper layer, top first. */
  readonly layers: string[];
  readonly upper: string;
  /** The first host id of the sandbox's own range, which its upper layer is owned in. */
  readonly uidBase: number;
  readonly running: boolean;
  /** Stand the sandbox on other layers with a fresh, empty upper layer (only while it is not running). */
  rebase(layers: string[], replaceUpper: (upper: string) => Promise<void>): Promise<void>;
}

/** What the snapshot domain plugs in: where a snapshot's layers are, and what to do as a sandbox sleeps or goes. */
export interface SnapshotHooks {
  /** The layers (top first) and image a new sandbox stands on when created from this snapshot. */
  resolve(snapshotId: string): { layers: string[]; image: string; imageVersion?: string };
  /** Freeze the disk of a sandbox that just went to sleep with persist "snapshot". */
  onSleep(disk: DiskView): Promise<void>;
  onDestroyed(id: string): void;
}
