import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Mail {
  to: string;
  subject: string;
  /** The whole message, headers included, quoted-printable undone. */
  text: string;
}

/** Undoes quoted-printable (nodemailer's choice for our text mails): soft line breaks and `=XX` bytes. */
function decodeQuotedPrintable(raw: string): string {
  const soft = raw.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let index = 0; index < soft.length; index += 1) {
    const hex = soft.slice(index + 1, index + 3);
    if (soft[index] === '=' && /^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      index += 2;
    } else {
      bytes.push(...Buffer.from(soft[index]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** A real SMTP server on port 0 that keeps what it receives; it can refuse the next messages. */
export class SmtpInbox {
  readonly mails: Mail[] = [];
  /** SMTP codes to answer the next messages with instead of accepting them. */
  readonly refusals: number[] = [];
  private readonly arrivals = new EventEmitter();
  readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const code = this.refusals.shift();
        if (code !== undefined) {
          callback(Object.assign(new Error(code >= 500 ? 'mailbox unavailable' : 'try again later'), { responseCode: code }));
          return;
        }
        const text = decodeQuotedPrintable(Buffer.concat(chunks).toString('utf8'));
        const subject = /^Subject: (.*)$/m.exec(text)?.[1]?.trim() ?? '';
        const mail = { to: session.envelope.rcptTo.map((address) => address.address).join(','), subject, text };
        this.mails.push(mail);
        this.arrivals.emit('mail', mail);
        callback();
      });
    },
  });

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server.server, 'listening');
    return `smtp://127.0.0.1:${(this.server.server.address() as AddressInfo).port}`;
  }

  /** The next mail to `to` with `subject`, taken out of `mails` (one already here counts). */
  take(to: string, subject: string): Promise<Mail> {
    const matches = (mail: Mail) => mail.to === to && mail.subject === subject;
    const here = this.mails.find(matches);
    if (here) {
      this.mails.splice(this.mails.indexOf(here), 1);
      return Promise.resolve(here);
    }
    return new Promise((resolve) => {
      const onMail = (mail: Mail) => {
        if (!matches(mail)) return;
        this.arrivals.off('mail', onMail);
        this.mails.splice(this.mails.indexOf(mail), 1);
        resolve(mail);
      };
      this.arrivals.on('mail', onMail);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The token of the first link to `page` in `mail`. */
export function linkToken(mail: Mail, page: string): string {
  const link = new RegExp(`${page.replace(/[.]/g, '\\.')}\\?token=([A-Za-z0-9_-]{43})`).exec(mail.text);
  if (!link) throw new Error(`no link to ${page} in ${mail.text}`);
  return link[1]!;
}
