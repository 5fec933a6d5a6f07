// Warm LibreOffice instances: a bounded FIFO of requests waiting for a free one, per-request timeouts and
// resource caps that kill and replace an instance, one retry on the crashed instance's replacement, and
// recycling in the background after N conversions or past an RSS limit. Instance slot i always runs as the
// same sandbox uid (isolation.ts), never shared with another slot.

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import {
  type BridgeReply,
  EngineAborted,
  EngineCrash,
  EngineResourceLimit,
  EngineTimeout,
  Instance,
  type InstanceJob,
  type InstanceLimits,
} from "./engine/instance.ts";
import type { Isolation } from "./engine/isolation.ts";
import { ConvertError } from "./errors.ts";
import type { Logger } from "./log.ts";

export interface PoolOptions {
  size: number;
  maxQueue: number;
  queueTimeoutMs: number;
  maxConversions: number;
  maxRssBytes: number;
  startTimeoutMs: number;
  /** Directory for the instances' private directories. */
  root: string;
  profileTemplate: string;
  python: string;
  soffice: string;
  warm: boolean;
  log: Logger;
  isolation?: Isolation;
  /** uid of slot i's instances: uidBase + i (with the uid layer). */
  uidBase?: number;
  limits?: InstanceLimits;
}

/** "replacing": the instance is being killed (recycle, timeout, crash); a new one starts when it has exited. */
type SlotState = "starting" | "idle" | "busy" | "replacing";

interface Slot {
  index: number;
  state: SlotState;
  instance: Instance | undefined;
  /** Conversions after which this instance is recycled. */
  recycleAfter: number;
  startFailures: number;
}

interface Waiter {
  /** A crash retry waits for this slot's replacement instance and takes no other. */
  slot?: Slot;
  resolve: (slot: Slot) => void;
  reject: (error: Error) => void;
  cleanup: () => void;
}

export interface PoolStats {
  total: number;
  ready: number;
  busy: number;
  starting: number;
  queued: number;
  conversions: number;
  recycled: number;
  crashed: number;
  timedOut: number;
  /** Conversions ended by a memory, CPU or output cap. */
  limited: number;
  /** Conversions abandoned because the client went away (a canceled job): their instance was killed. */
  canceled: number;
  /** Mean LibreOffice time of recent conversions, for Retry-After. */
  averageMs: number;
}

export class Pool {
  private readonly options: PoolOptions;
  private readonly slots: Slot[];
  private readonly waiters: Waiter[] = [];
  private closed = false;
  private generation = 0;
  private everReady = false;
  private readyListeners: (() => void)[] = [];
  private counters = { conversions: 0, recycled: 0, crashed: 0, timedOut: 0, limited: 0, canceled: 0 };
  private recentMs: number[] = [];

  constructor(options: PoolOptions) {
    this.options = options;
    // The first generation recycles at staggered counts so the instances never restart all at once.
    this.slots = Array.from({ length: options.size }, (_, index) => ({
      index,
      state: "starting" as SlotState,
      instance: undefined,
      recycleAfter: Math.max(1, Math.ceil((options.maxConversions * (index + 1)) / options.size)),
      startFailures: 0,
    }));
  }

  /**
   * Starts every instance eagerly; resolves when the first one is ready. The first starts alone so it is not
   * slowed by the others competing for the CPUs (it alone serves a cold start's first request); the rest
   * start together as soon as it is up.
   */
  start(): Promise<void> {
    const [first, ...rest] = this.slots;
    void this.launch(first!).finally(() => {
      for (const slot of rest) void this.launch(slot);
    });
    return new Promise((resolve) => (this.everReady ? resolve() : this.readyListeners.push(resolve)));
  }

  stats(): PoolStats {
    const count = (state: SlotState) => this.slots.filter((s) => s.state === state).length;
    const averageMs = this.recentMs.length ? this.recentMs.reduce((a, b) => a + b, 0) / this.recentMs.length : 1000;
    return {
      total: this.slots.length,
      ready: count("idle") + count("busy"),
      busy: count("busy"),
      starting: count("starting") + count("replacing"),
      queued: this.waiters.length,
      ...this.counters,
      averageMs: Math.round(averageMs),
    };
  }

  get isReady(): boolean {
    return this.everReady && this.slots.some((s) => s.state === "idle" || s.state === "busy");
  }

  /**
   * Runs one conversion on a free instance; the document enters the instance only then. The time budget starts
   * when an instance is assigned, so waiting in the queue never eats into it. A crash is retried once, on the crashed slot's replacement: a
   * document that kills LibreOffice every time then costs one slot's restarts, never a second, healthy
   * instance. A second crash is the document's (422 `convert.engine_crash_on_input`).
   */
  async run(
    job: InstanceJob,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ reply: BridgeReply; startedAt: number; queueMs: number }> {
    const queuedAt = Date.now();
    let startedAt = 0;
    let crashed: { slot: Slot; instance: Instance; detail: string } | undefined;
    for (let attempt = 0; ; attempt++) {
      const slot = crashed
        ? await this.acquireReplacement(crashed, timeoutMs - (Date.now() - startedAt), signal)
        : await this.acquire(signal);
      if (attempt === 0) startedAt = Date.now();
      const instance = slot.instance!;
      const remaining = timeoutMs - (Date.now() - startedAt);
      if (remaining <= 0) {
        // The replacement came up just as the budget ran out: give it back untouched.
        this.handOut(slot);
        throw new ConvertError(
          "convert.timeout",
          `the conversion did not finish within ${Math.round(timeoutMs / 100) / 10} s`,
          { timeoutMs },
        );
      }
      try {
        const began = Date.now();
        const reply = await instance.convert(job, remaining, signal);
        this.recordDuration(Date.now() - began);
        this.release(slot, instance);
        return { reply, startedAt, queueMs: startedAt - queuedAt };
      } catch (error) {
        if (error instanceof EngineTimeout) {
          this.counters.timedOut++;
          this.options.log("warn", "conversion timed out; instance killed", { instance: slot.index, timeoutMs });
          if (slot.instance === instance) slot.state = "replacing";
          instance.kill("timeout"); // already done by request(); the exit listener starts a replacement
          throw new ConvertError(
            "convert.timeout",
            `the conversion did not finish within ${Math.round(timeoutMs / 100) / 10} s`,
            {
              timeoutMs,
            },
          );
        }
        if (error instanceof EngineAborted) {
          // Nobody waits for this result (a canceled job): the instance is killed like on a timeout, and its
          // replacement takes the next request instead of LibreOffice working on to the timeout.
          if (error.killed) {
            this.counters.canceled++;
            this.options.log("info", "client went away; conversion stopped, instance killed", { instance: slot.index });
            if (slot.instance === instance) slot.state = "replacing";
            instance.kill("client went away"); // already done by request(); the exit listener starts a replacement
          } else if (slot.instance === instance) {
            this.handOut(slot); // gone before the document reached LibreOffice: the instance is untouched
          }
          throw new ConvertError("convert.busy", "the client went away during the conversion");
        }
        if (error instanceof EngineResourceLimit) {
          this.counters.limited++;
          this.options.log("warn", "conversion hit a resource cap; instance killed", {
            instance: slot.index,
            resource: error.resource,
            detail: error.message,
          });
          if (slot.instance === instance) slot.state = "replacing";
          instance.kill("resource cap");
          throw new ConvertError("convert.resource_limit", error.message, { resource: error.resource });
        }
        if (error instanceof EngineCrash) {
          this.counters.crashed++;
          this.options.log("warn", "instance crashed during a conversion", {
            instance: slot.index,
            attempt,
            error: error.message,
          });
          if (slot.instance === instance && slot.state === "busy") slot.state = "replacing";
          instance.kill("crash");
          if (this.closed) {
            throw new ConvertError(
              "convert.engine_failure",
              `the converter shut down during the conversion: ${error.message}`,
              {
                retryable: true,
              },
            );
          }
          if (attempt === 0) {
            crashed = { slot, instance, detail: error.message };
            continue;
          }
          throw new ConvertError(
            "convert.engine_crash_on_input",
            `LibreOffice crashed on this document twice, the second time on a fresh instance (first: ${crashed!.detail}; retry: ${error.message})`,
          );
        }
        this.release(slot, instance);
        throw error;
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      waiter.cleanup();
      waiter.reject(new ConvertError("convert.busy", "the converter is shutting down", {}, 5));
    }
    await Promise.all(
      this.slots.map(async (slot) => {
        const instance = slot.instance;
        if (instance) await instance.stop("shutdown");
      }),
    );
  }

  /** Any free instance, in FIFO order behind the requests already waiting. */
  private acquire(signal: AbortSignal | undefined): Promise<Slot> {
    if (this.closed) return Promise.reject(new ConvertError("convert.busy", "the converter is shutting down", {}, 5));
    const idle = this.slots.find((s) => s.state === "idle" && s.instance?.isAlive);
    const queued = this.queuedCount();
    if (idle && queued === 0) {
      idle.state = "busy";
      return Promise.resolve(idle);
    }
    if (queued >= this.options.maxQueue) {
      return Promise.reject(
        new ConvertError(
          "convert.busy",
          `all ${this.slots.length} instances are busy and the queue is full`,
          {
            queued,
          },
          this.retryAfterSeconds(),
        ),
      );
    }
    const expired = () =>
      new ConvertError(
        "convert.busy",
        `no instance became free within ${this.options.queueTimeoutMs} ms`,
        {},
        this.retryAfterSeconds(),
      );
    return this.wait(signal, undefined, this.options.queueTimeoutMs, expired, idle);
  }

  /**
   * The crashed slot's next instance, for the retry; other instances keep serving the queue. Waits at most
   * for what is left of the conversion's time budget.
   */
  private acquireReplacement(
    crashed: { slot: Slot; instance: Instance; detail: string },
    waitMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Slot> {
    const { slot } = crashed;
    const seconds = Math.max(0, Math.round(waitMs / 100) / 10);
    const notReplaced = () =>
      new ConvertError(
        "convert.engine_failure",
        `LibreOffice crashed on this document (${crashed.detail}) and no replacement instance was ready to retry it within ${seconds} s`,
        { retryable: true },
      );
    if (this.closed) return Promise.reject(new ConvertError("convert.busy", "the converter is shutting down", {}, 5));
    if (waitMs <= 0) return Promise.reject(notReplaced());
    if (slot.state === "idle" && slot.instance !== crashed.instance && slot.instance?.isAlive) {
      slot.state = "busy";
      return Promise.resolve(slot);
    }
    return this.wait(signal, slot, waitMs, notReplaced);
  }

  /** Requests waiting for any instance (crash retries waiting for their own slot are not counted). */
  private queuedCount(): number {
    return this.waiters.filter((w) => !w.slot).length;
  }

  private wait(
    signal: AbortSignal | undefined,
    slot: Slot | undefined,
    waitMs: number,
    expired: () => Error,
    idle?: Slot,
  ): Promise<Slot> {
    return new Promise<Slot>((resolve, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(expired());
      }, waitMs);
      const onAbort = () => {
        remove();
        reject(new ConvertError("convert.busy", "the client went away while queued"));
      };
      const remove = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        waiter.cleanup();
      };
      const waiter: Waiter = {
        slot,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
      if (idle) this.handOut(idle);
    });
  }

  private retryAfterSeconds(): number {
    const { averageMs } = this.stats();
    const perInstance = (this.waiters.length + 1) / Math.max(1, this.slots.length);
    return Math.max(1, Math.ceil((perInstance * averageMs) / 1000));
  }

  private recordDuration(ms: number): void {
    this.recentMs.push(ms);
    if (this.recentMs.length > 50) this.recentMs.shift();
  }

  /** Gives an idle slot to the crash retry waiting for it, else to the first waiter, or leaves it idle. */
  private handOut(slot: Slot): void {
    let index = this.waiters.findIndex((w) => w.slot === slot);
    if (index < 0) index = this.waiters.findIndex((w) => !w.slot);
    if (index < 0) {
      slot.state = "idle";
      return;
    }
    const [waiter] = this.waiters.splice(index, 1) as [Waiter];
    waiter.cleanup();
    slot.state = "busy";
    waiter.resolve(slot);
  }

  private release(slot: Slot, instance: Instance): void {
    if (slot.instance !== instance || !instance.isAlive) return;
    instance.conversions++;
    this.counters.conversions++;
    const rss = instance.rssBytes();
    const tooMany = instance.conversions >= slot.recycleAfter;
    const tooBig = rss !== undefined && rss > this.options.maxRssBytes;
    if ((tooMany || tooBig) && !this.closed) {
      this.counters.recycled++;
      this.options.log("info", "recycling instance", {
        instance: slot.index,
        conversions: instance.conversions,
        rssMb: rss === undefined ? undefined : Math.round(rss / 1048576),
      });
      slot.recycleAfter = this.options.maxConversions;
      slot.state = "replacing";
      instance.kill("recycle"); // the exit listener starts the replacement
      return;
    }
    this.handOut(slot);
  }

  private async launch(slot: Slot): Promise<void> {
    if (this.closed) return;
    slot.state = "starting";
    const id = ++this.generation;
    const instance = new Instance({
      id,
      // Unguessable: its single-instance pipe's name derives from this path.
      dir: join(this.options.root, `instance-${slot.index}-${id}-${randomBytes(4).toString("hex")}`),
      profileTemplate: this.options.profileTemplate,
      python: this.options.python,
      soffice: this.options.soffice,
      startTimeoutMs: this.options.startTimeoutMs,
      warm: this.options.warm,
      log: this.options.log,
      isolation: this.options.isolation,
      uid: this.options.uidBase === undefined ? undefined : this.options.uidBase + slot.index,
      limits: this.options.limits,
    });
    slot.instance = instance;
    instance.onExit((reason) => {
      if (slot.instance !== instance || slot.state === "starting" || this.closed) return;
      if (slot.state !== "replacing")
        this.options.log("warn", "instance exited; replacing it", { instance: slot.index, reason });
      void this.launch(slot);
    });
    const began = Date.now();
    try {
      await instance.start();
    } catch (error) {
      slot.startFailures++;
      instance.kill("start failure");
      await instance.exited;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(slot.startFailures, 6));
      this.options.log("error", "instance failed to start", {
        instance: slot.index,
        error: (error as Error).message,
        retryInMs: delay,
      });
      if (!this.closed) setTimeout(() => void this.launch(slot), delay).unref();
      return;
    }
    if (this.closed) {
      instance.kill("shutdown");
      return;
    }
    slot.startFailures = 0;
    this.options.log("info", "instance ready", {
      instance: slot.index,
      ms: Date.now() - began,
      pid: instance.sofficePid,
      uid: instance.uid ?? process.getuid?.(),
    });
    this.everReady = true;
    for (const listener of this.readyListeners.splice(0)) listener();
    this.handOut(slot);
  }
}
