import * as assert from 'node:assert/strict';
import { OOM_NOTICE_QUIET_MS, OomNotice, OomWatch, oomMessage } from '../../../src/extension/notify/oomWatch';
import type { ContainerSnapshot } from '../../../src/shared/model';

function withKills(id: string, name: string, oomKills: number | null): ContainerSnapshot {
  return { id, name, cgroup: { usage: { oomKills } } } as unknown as ContainerSnapshot;
}

describe('OOM notices', () => {
  let now = 0;
  let told: OomNotice[] = [];
  let watch: OomWatch;
  beforeEach(() => {
    now = 1_000_000;
    told = [];
    watch = new OomWatch(
      (n) => told.push(n),
      () => now,
    );
  });

  it('tells when the oom_kill counter rises between two reads, not on the first look', () => {
    watch.observe([withKills('a', 'web', 3)]);
    assert.deepEqual(told, [], 'kills before the first look are history, not news');
    now += 1000;
    watch.observe([withKills('a', 'web', 3)]);
    assert.deepEqual(told, []);
    now += 1000;
    watch.observe([withKills('a', 'web', 4)]);
    assert.deepEqual(told, [{ id: 'a', name: 'web', kills: 4, source: 'counter' }]);
  });

  it("tells the daemon's oom event with the counter last seen, once for the event and the counter of the same kill", () => {
    watch.observe([withKills('a', 'web', 0)]);
    watch.event('a', 'web');
    now += 500;
    watch.observe([withKills('a', 'web', 1)]);
    assert.deepEqual(told, [{ id: 'a', name: 'web', kills: 0, source: 'event' }]);
    now += OOM_NOTICE_QUIET_MS;
    watch.observe([withKills('a', 'web', 2)]);
    assert.equal(told.length, 2);
    assert.equal(told[1].source, 'counter');
  });

  it('keeps containers apart, skips unread counters, and forgets a removed container', () => {
    watch.observe([withKills('a', 'web', 0), withKills('b', 'db', null)]);
    watch.observe([withKills('a', 'web', 0), withKills('b', 'db', 5)]);
    assert.equal(told.length, 0, 'a counter read for the first time is no rise');
    watch.event('b', 'db');
    watch.forget('b');
    watch.event('b', 'db');
    assert.deepEqual(
      told.map((n) => [n.id, n.kills]),
      [
        ['b', 5],
        ['b', null],
      ],
    );
  });

  it('words the notification with the limit and the count', () => {
    assert.equal(
      oomMessage({ id: 'a', name: 'web', kills: 2, source: 'counter' }, '64.0 MiB'),
      "Container web: the kernel's OOM killer ended a process in it (memory limit 64.0 MiB; 2 OOM kills in its cgroup).",
    );
    assert.equal(
      oomMessage({ id: 'a', name: 'web', kills: null, source: 'event' }, null),
      "Container web: the kernel's OOM killer ended a process in it.",
    );
  });
});
