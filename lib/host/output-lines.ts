import { StringDecoder } from 'node:string_decoder';

/**
 * Keeps the first lines of a child's output for the log, bounded in count and length, and
 * counts the rest: a chatty or runaway script must not flood syslog or grow our memory.
 */
export class BoundedLines {
  private readonly decoder = new StringDecoder('utf8');
  private readonly kept: string[] = [];
  private partial = '';
  /** The current line is over maxLineChars: drop its rest until the next newline. */
  private truncating = false;
  private extra = 0;

  constructor(
    private readonly maxLines = 20,
    private readonly maxLineChars = 4096,
  ) {}

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      const piece = text.slice(start, newline === -1 ? undefined : newline);
      this.append(piece);
      if (newline === -1) break;
      this.endLine();
      start = newline + 1;
    }
  }

  /** The kept lines, and "... (N more lines)" when some were left out. Call once, at the end. */
  finish(): string[] {
    this.append(this.decoder.end());
    if (this.partial !== '' || this.truncating) this.endLine();
    const lines = [...this.kept];
    if (this.extra > 0) lines.push(`... (${this.extra} more line${this.extra === 1 ? '' : 's'})`);
    return lines;
  }

  private append(piece: string): void {
    if (this.truncating || piece === '') return;
    const room = this.maxLineChars - this.partial.length;
    if (piece.length > room) {
      this.partial += `${piece.slice(0, room)}...`;
      this.truncating = true;
    } else {
      this.partial += piece;
    }
  }

  private endLine(): void {
    const line = this.partial.replace(/\r$/, '');
    this.partial = '';
    this.truncating = false;
    if (this.kept.length < this.maxLines) this.kept.push(line);
    else this.extra++;
  }
}
