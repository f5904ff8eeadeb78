/**
 * One request to the server's background tasks (explanations, analyses) followed to its end: the
 * first answer carries what was cached; while the server's task runs it is long-polled (the server
 * answers at its next change), and every result is fetched the moment it appears, so each can be
 * drawn as soon as possible.
 */

import { requestJson } from "./api";
import { cancelTask, pollTask, type TaskStatus } from "./explainApi";

/** The first answer: the results ready at once (by method or analysis) and the task computing the rest. */
export interface TaskAnswer<Result> {
  results: Record<string, Result>;
  task: TaskStatus | null;
}

export interface RunListener<Answer, Result> {
  answered(answer: Answer): void;
  progressed(task: TaskStatus): void;
  resultReady(method: string, result: Result): void;
  /** A method's result could not be fetched although the task computed it. */
  resultFailed(method: string, failure: unknown): void;
  /** The request itself, or following its task, failed. */
  failed(failure: unknown): void;
  /** Every method is settled: done (and fetched), failed or cancelled. */
  ended(): void;
}

export class TaskRun<Answer extends TaskAnswer<Result>, Result> {
  /** The server's task, while one computes the methods that were not cached. */
  task: TaskStatus | null = null;
  private stopped = false;
  private settled = false;
  /** Cancel was asked for before the server named its task. */
  private cancelAsked = false;
  private readonly fetched = new Set<string>();
  private readonly fetches: Promise<void>[] = [];

  /** `ask` sends the request and gives its first answer. */
  constructor(
    private readonly ask: () => Promise<Answer>,
    private readonly listener: RunListener<Answer, Result>,
  ) {}

  /** From the request until every method is settled (or the run stopped). */
  get running(): boolean {
    return !this.stopped && !this.settled;
  }

  async start(): Promise<void> {
    try {
      const answer = await this.ask();
      this.task = answer.task;
      if (this.cancelAsked) await this.cancel();
      if (this.stopped) return;
      this.listener.answered(answer);
      for (const [method, result] of Object.entries(answer.results)) {
        this.fetched.add(method);
        this.listener.resultReady(method, result);
      }
      while (this.task && !this.stopped) {
        this.fetchFinished(this.task);
        this.listener.progressed(this.task);
        if (this.task.status !== "running") break;
        this.task = await pollTask(this.task);
        if (this.stopped) return;
      }
      await Promise.all(this.fetches);
    } catch (failure) {
      this.settled = true;
      if (!this.stopped) this.listener.failed(failure);
      return;
    }
    this.settled = true;
    if (!this.stopped) this.listener.ended();
  }

  /** Stops following the task and reporting; the server keeps computing (see `cancel`). */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Asks the server to drop the methods not finished (once it has named the task, if the request is
   * still on its way); the poll loop then reports them cancelled.
   */
  async cancel(): Promise<void> {
    this.cancelAsked = true;
    if (this.task?.status === "running") await cancelTask(this.task);
  }

  private fetchFinished(task: TaskStatus): void {
    for (const [method, url] of Object.entries(task.results)) {
      if (this.fetched.has(method)) continue;
      this.fetched.add(method);
      this.fetches.push(
        requestJson<Result>(url).then(
          (result) => {
            if (!this.stopped) this.listener.resultReady(method, result);
          },
          (failure: unknown) => {
            if (!this.stopped) this.listener.resultFailed(method, failure);
          },
        ),
      );
    }
  }
}
