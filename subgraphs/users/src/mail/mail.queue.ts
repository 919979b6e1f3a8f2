import { UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import { createTransport, type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import { bullConnection, createErrorReporter, LazyQueue, type RedisTarget } from '../../../kit/src/events';
import { inJobSpan, traced, type TracedJobData, type Tracing } from '../../../kit/src/tracing';

/** Users' own BullMQ queue (not an event queue): mail to users, sent by the workers. */
export const MAIL_QUEUE = 'users-mail';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

const MAIL_JOB_OPTIONS: JobsOptions = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: true,
  // A mail carries a one-time link: a failed one is kept a day for inspection, no longer.
  removeOnFail: { age: 24 * 3600 },
};

export interface MailerOptions {
  redis: RedisTarget;
  /** BullMQ key prefix (tests use a unique one). Default BullMQ's. */
  prefix?: string;
  /** `smtp://` or `smtps://` URL of the relay; without one (development) mail is written to the log instead. */
  smtpUrl: string | undefined;
  /** The From header. */
  from: string;
  log: Logger;
  /** Each mail a CONSUMER span (send mail) in the trace that queued it. */
  tracing?: Tracing;
}

/** How long a mail sent with a `dedupId` keeps it: the same id again within this long queues nothing. */
const DEDUP_SECONDS = 3600;

export interface Mailer {
  /**
   * Queues `message`; the workers send it, retrying while the SMTP relay refuses or is away. A
   * `dedupId` (letters, digits and dashes) queues one mail however often it is sent within the hour:
   * for mails sent from event handlers, which run again when their transaction fails.
   */
  send(message: MailMessage, options?: { dedupId?: string }): Promise<void>;
  /** Starts this process's worker (an API-only replica does not). */
  startWorker(): void;
  close(): Promise<void>;
}

/** A message the SMTP relay refused for good (5xx): retrying would not help. */
const permanent = (error: unknown): boolean => typeof (error as { responseCode?: unknown }).responseCode === 'number' && (error as { responseCode: number }).responseCode >= 500;

/**
 * Mail through a queue, so a request never waits on SMTP and a relay that is down delays mail
 * instead of losing it. The producer connects on first use; the worker sends with nodemailer, or in
 * development without `SMTP_URL` logs the message (the development mailbox).
 */
export function createMailer(options: MailerOptions): Mailer {
  const log = options.log.child({ component: 'mail', queue: MAIL_QUEUE });
  const producer = new LazyQueue<MailMessage & TracedJobData>(MAIL_QUEUE, { redis: options.redis, prefix: options.prefix, log });
  let worker: Worker<MailMessage & TracedJobData> | undefined;
  let transport: Transporter | undefined;

  async function deliver(job: Job<MailMessage & TracedJobData>): Promise<void> {
    const { to, subject, text } = job.data;
    if (typeof to !== 'string' || typeof subject !== 'string' || typeof text !== 'string') throw new UnrecoverableError(`mail job ${job.id} is malformed`);
    if (!options.smtpUrl) {
      log.warn({ to, subject, text }, 'SMTP_URL is not set: mail written here instead of sent (development mailbox)');
      return;
    }
    transport ??= createTransport(options.smtpUrl);
    try {
      const info = await transport.sendMail({ from: options.from, to, subject, text });
      log.info({ jobId: job.id, messageId: info.messageId }, 'mail sent');
    } catch (error) {
      if (permanent(error)) throw new UnrecoverableError(`the SMTP relay refused the mail: ${(error as Error).message}`);
      throw error;
    }
  }

  return {
    async send(message, sendOptions = {}) {
      const { dedupId } = sendOptions;
      await producer.get().add('mail', traced(message), dedupId ? { ...MAIL_JOB_OPTIONS, jobId: dedupId, removeOnComplete: { age: DEDUP_SECONDS } } : MAIL_JOB_OPTIONS);
    },

    startWorker() {
      if (worker) return;
      worker = new Worker<MailMessage & TracedJobData>(MAIL_QUEUE, (job) => inJobSpan(options.tracing, 'send mail', job, () => deliver(job)), {
        connection: bullConnection(options.redis, { maxRetriesPerRequest: null }),
        prefix: options.prefix,
        concurrency: 5,
      });
      const errors = createErrorReporter(log, {}, 'mail worker error');
      worker.on('error', (error) => errors.error(error));
      worker.on('ready', () => errors.recovered());
      worker.on('failed', (job, error) => {
        const final = !job || job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError;
        const context = { err: error, jobId: job?.id, attemptsMade: job?.attemptsMade };
        if (final) log.error(context, 'mail not sent; kept in the failed set for a day');
        else log.warn(context, 'mail not sent yet; will retry');
      });
    },

    async close() {
      await worker?.close().catch((error: unknown) => log.debug({ err: error }, 'mail worker close failed'));
      await producer.close();
      transport?.close();
      worker = undefined;
      transport = undefined;
    },
  };
}
