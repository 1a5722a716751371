// An answer the API gives on purpose (a refusal, a missing backup): status, message, and for 429
// the seconds to wait. Anything else that is thrown is a 500 whose details go to the log only.
export class HttpError extends Error {
  readonly status: number;
  readonly retryAfterSeconds?: number;
  constructor(status: number, message: string, options: { retryAfterSeconds?: number } = {}) {
    super(message);
    this.status = status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
