// The runtime's event stream, as the extension follows it to refresh its views: on every target (Docker's
// /events, Podman's compatible one over its own service), a container this suite starts, stops and removes
// shows up as those events, with the ID and name the runtime's own `inspect` gives (Podman's `remove`
// read as Docker's `destroy`).
import * as assert from 'node:assert/strict';
import { Engine } from '../../src/core/engine';
import { DockerEvent, DockerEventWatcher } from '../../src/core/runtime/docker/events';
import { Target, engineOptions, inspectOn, openTarget, removeOn, runOn, runtimeTargets } from '../support/targets';

async function waitFor<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const name of runtimeTargets()) {
  describe(`the runtime's events (${name})`, function () {
    this.timeout(300_000);
    let t: Target;
    let engine: Engine | null = null;
    let watcher: DockerEventWatcher | null = null;
    const events: DockerEvent[] = [];
    const containers: string[] = [];

    before(async function () {
      this.timeout(900_000);
      t = await openTarget(name);
      engine = await Engine.create(engineOptions(t));
      watcher = new DockerEventWatcher(engine.runtime);
      watcher.on('event', (ev) => events.push(ev));
      watcher.start();
      await waitFor('the watcher to connect', 60_000, () => (watcher?.connected ? true : undefined));
    });

    after(async function () {
      this.timeout(300_000);
      watcher?.stop();
      await engine?.dispose();
      if (t) await removeOn(t, containers);
    });

    it('sees a container start, die and go, by the ID and name inspect gives', async () => {
      const containerName = `xray-it-events-${process.pid}`;
      const id = await runOn(t, ['--name', containerName, '--network', 'none', t.helperImage, 'sleep', '600']);
      containers.push(id);
      const info = await inspectOn<{ Id: string; Name: string }>(t, id);
      assert.equal(info.Id, id);
      const of = (action: string) => () => events.find((e) => e.type === 'container' && e.action === action && e.id === id);
      const start = await waitFor(`a start event for ${id}`, 60_000, of('start'));
      assert.equal(start.name, info.Name.replace(/^\//, ''));
      assert.ok(start.timeNano > 0, 'the event carries its time');
      await t.docker(['rm', '-f', id]);
      const die = await waitFor(`a die event for ${id}`, 60_000, of('die'));
      await waitFor(`a destroy event for ${id}`, 60_000, of('destroy'));
      assert.ok(die.timeNano >= start.timeNano, 'die comes after start');
      assert.ok(watcher?.connected, 'the stream is still up');
    });
  });
}
