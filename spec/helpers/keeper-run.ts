import { expect } from 'chai';
import type { TunnelKeeperState } from '../../actors/tunnel-keeper/keeper-state.js';
import { tunnelKeeperDef } from '../../actors/tunnel-keeper/tunnel-keeper.js';
import type { KeeperMemory } from '../../actors/tunnel-keeper/probation.js';
import { tunnelTeardown } from '../../actors/tunnel-keeper/teardown.js';
import type { Lifecycle } from '../../domain/lifecycle.js';
import type { ReporterMsg } from '../../messages/reporter.js';
import { tunnelContainerEvent, tunnelStart, type TunnelKeeperMsg } from '../../messages/tunnel-keeper.js';
import { EMPTY_TUNNEL_STATE, type TunnelState } from '../../persistence/formats.js';
import type { StateStore } from '../../persistence/state-files.js';
import { callbackRef } from '../../supervisor/actor-ref.js';
import { StatusBoard } from '../../domain/status-board.js';
import { ActorDriver, failing } from './actor-driver.js';
import { LogSink } from './log-sink.js';
import { ManualClock } from './manual-clock.js';
import { TunnelDockerModel } from './tunnel-docker-model.js';

export const CONFIRM_MS = 2000;
export const ASSIGNMENT = { tunnelId: 'tunnel-id-1', tunnelName: 'home', token: 'token-one' };
export const ERROR = 50;
export const DEBUG = 20;

/** The keeper's settings in its unit specs, whichever runs the tunnel (a container, or a Swarm service). */
export const KEEPER_SETTINGS = {
  image: 'cloudflare/cloudflared:test',
  network: 'cloudflare-net',
  createNetwork: false,
  checkIntervalMs: 30_000,
  startConfirmMs: CONFIRM_MS,
  stopTimeoutS: 10,
  random: () => 0.5,
} as const;

/** A state store holding tunnel_state.json in memory (`save` answers whether the disk took it); nothing else. */
export function tunnelStore(load: () => TunnelState, save: (s: TunnelState) => boolean): StateStore {
  const fail = (what: string): (() => never) => failing('keeper spec', what);
  return {
    writable: true,
    loadAgentId: fail('loadAgentId'),
    saveAgentId: fail('saveAgentId'),
    loadTunnelState: () => Promise.resolve(load()),
    saveTunnelState: (s) => Promise.resolve(save(s)),
  };
}

/**
 * Drives the real keeper definition as the actor host does (spec/helpers/actor-driver.ts), with its timers on a
 * manual clock that moves only from one due timer to the next, so every check runs at the time it was due. A kill
 * ends an incarnation as the host does, but a handler already awaiting Docker runs on; the next incarnation gets
 * what the keeper carries, and so does the process's teardown.
 */
export class KeeperRun {
  readonly clock = new ManualClock();
  readonly docker = new TunnelDockerModel(this.clock);
  readonly sink = new LogSink();
  /** tunnel_status events handed to the Reporter. */
  readonly told: string[] = [];
  saved: TunnelState = EMPTY_TUNNEL_STATE;
  /** What the tombstone says; a spec moves it as a decommission would. */
  readonly lifecycle: { lifecycle: Lifecycle } = { lifecycle: 'enrolled' };
  /** saveTunnelState answers this (false: the disk refused the write). */
  saves = true;
  private readonly driver: ActorDriver<TunnelKeeperState, TunnelKeeperMsg, KeeperMemory>;
  /** The process's removal of the container at shutdown, on the turns the keeper's incarnations carry. */
  readonly teardown = tunnelTeardown({
    docker: this.docker.port(),
    turns: () => this.driver.carried,
    removeOnShutdown: true,
    lifecycle: this.lifecycle,
    shutdownStopTimeoutS: 5,
    clock: this.clock,
    log: this.sink.log,
  });

  constructor() {
    const store = tunnelStore(
      () => this.saved,
      (s) => {
        if (this.saves) this.saved = s;
        return this.saves;
      },
    );
    const reporter = callbackRef<ReporterMsg>('reporter', (msg) => {
      if (msg.type !== 'reporter.enqueue' || msg.event.type !== 'tunnel_status')
        throw new Error(`reporter: unexpected ${msg.type}`);
      this.told.push(msg.event.status);
    });
    const def = tunnelKeeperDef({
      docker: this.docker.port(),
      store,
      reporter,
      board: new StatusBoard('https://master.example'),
      ...KEEPER_SETTINGS,
      lifecycle: this.lifecycle,
    });
    this.driver = new ActorDriver(def, { name: 'tunnel-keeper', log: this.sink.log, clock: this.clock });
  }

  /** A new incarnation: init, then what its first timer (the check at 0) brings. */
  async start(): Promise<void> {
    await this.driver.start();
    await this.advance(0);
  }

  kill(): void {
    this.driver.kill();
  }

  send(msg: TunnelKeeperMsg): Promise<void> {
    if (!this.driver.alive) throw new Error('keeper spec: no incarnation');
    return this.driver.send(msg);
  }

  /** cloudflared exits by itself, Docker's restart policy starts it again, and the keeper hears the die. */
  async exitsBySelf(): Promise<void> {
    this.docker.exitAndRestart();
    await this.send(tunnelContainerEvent('die', this.docker.container!.id));
  }

  /** Moves the clock by `ms`, stopping at each due timer to handle what it sent. */
  advance(ms: number): Promise<void> {
    return this.driver.advance(ms);
  }
}

export async function assigned(): Promise<KeeperRun> {
  const run = new KeeperRun();
  await run.start();
  await run.send(tunnelStart(ASSIGNMENT));
  expect(run.docker.created, 'created on the command').to.have.length(1);
  return run;
}
