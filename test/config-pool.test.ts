import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../src/server/config.js";

describe("--pool", () => {
  const pool = (spec: string) => loadConfig(["--pool", spec], {}).pool;

  it("takes a count for the default image, image=N pairs and snapshot:<id>=N", () => {
    assert.deepEqual(pool("3"), { default: 3 });
    assert.deepEqual(pool("default=2, python=1,snapshot:snap-0123456789ab=4"), { default: 2, python: 1, "snapshot:snap-0123456789ab": 4 });
    assert.deepEqual(pool("0"), {});
  });

  it("refuses counts out of range and snapshot keys that name no snapshot id, saying what to write", () => {
    assert.throws(() => pool("default=65"), /N from 0 to 64/);
    assert.throws(() => pool("python=x"), /N from 0 to 64/);
    assert.throws(() => pool("snapshot:=1"), /snapshot:snap-0123456789ab=2/);
    assert.throws(() => pool("snapshot:../../etc=1"), /comes a snapshot id/);
  });
});
