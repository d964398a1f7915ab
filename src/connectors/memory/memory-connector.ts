/**
 * The reference connector: objects in a Map in process memory. Small enough to read in one
 * sitting, and the model for a custom connector (docs/custom-connectors.md).
 */
import { Connector, type ObjectInfo, type PutOptions } from '../../storage/connector.js';

interface StoredObject {
  readonly bytes: Uint8Array;
  readonly modifiedAt: Date;
}

/** Keeps objects in a Map. Data is lost when the process exits. */
export class MemoryConnector extends Connector {
  /** @inheritdoc */
  readonly name = 'memory';
  private readonly objects = new Map<string, StoredObject>();

  /** @inheritdoc */
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.objects.get(key)?.bytes.slice();
  }

  /** @inheritdoc */
  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<boolean> {
    if (options?.ifAbsent && this.objects.has(key)) return false;
    this.objects.set(key, { bytes: data.slice(), modifiedAt: new Date() });
    return true;
  }

  /** @inheritdoc */
  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.objects.delete(key);
  }

  /** @inheritdoc */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const [key, { bytes, modifiedAt }] of [...this.objects]) {
      if (key.startsWith(prefix)) yield { key, size: bytes.byteLength, modifiedAt };
    }
  }

  /** One Map lookup instead of a listing. */
  override async head(key: string): Promise<ObjectInfo | undefined> {
    const stored = this.objects.get(key);
    return stored && { key, size: stored.bytes.byteLength, modifiedAt: stored.modifiedAt };
  }
}
