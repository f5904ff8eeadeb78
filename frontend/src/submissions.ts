/**
 * The submitter's side of a job: which submission this page shows (the `submission` URL parameter,
 * whose name and time the server then shows) and, in this browser only, the token that deletes it.
 * Tokens live in localStorage under the job and submission; they never go into a URL.
 */

import { request } from "./api";

const storageKey = (jobId: string, submission: string): string => `foldlens:token:${jobId}:${submission}`;

/** The submission named in the page's URL, if any. */
export const currentSubmission = (): string | null => new URLSearchParams(window.location.search).get("submission");

export function rememberToken(jobId: string, submission: string, token: string): void {
  try {
    window.localStorage.setItem(storageKey(jobId, submission), token);
  } catch {
    // Storage may be off (private mode): the job still works, it just cannot be deleted from here.
  }
}

export function tokenFor(jobId: string, submission: string | null): string | null {
  if (submission === null) return null;
  try {
    return window.localStorage.getItem(storageKey(jobId, submission));
  } catch {
    return null;
  }
}

/** Deletes the submission (and the job, when no one else submitted it); forgets the token. */
export async function deleteSubmission(jobId: string, submission: string, token: string): Promise<void> {
  await request(`/api/jobs/${encodeURIComponent(jobId)}`, { method: "DELETE", headers: { "X-Foldlens-Token": token } });
  try {
    window.localStorage.removeItem(storageKey(jobId, submission));
  } catch {
    // nothing to forget
  }
}
