/**
 * The RFC 1035 §5.1 master-file tokenizer: text to logical lines of tokens. Parentheses join
 * physical lines into one entry, ';' starts a comment, quotes delimit a <character-string>, and
 * a backslash escapes the next character. Escapes are kept in the token text: what a backslash
 * means depends on the field (a name, a string), which only the record parsers know.
 */

export interface Token {
  /** The token as written, escapes kept: what a backslash means depends on the field. */
  readonly text: string;
  readonly quoted: boolean;
  readonly line: number;
}

/** One logical line: a physical line, or several joined by parentheses. */
export interface Entry {
  /** Where the entry starts: every error about it names this line. */
  readonly line: number;
  /** The line started with whitespace: the owner is the previous record's (RFC 1035 §5.1). */
  readonly blankOwner: boolean;
  readonly tokens: Token[];
  error?: string;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** Characters that end an unquoted token. */
function isDelimiter(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10 || c === 59 || c === 40 || c === 41 || c === 34;
}

/**
 * Splits `text` into logical lines and hands each to `emit` (which returns false to stop).
 * Linear in the input: tokens are slices of `text`, never built character by character.
 */
export function tokenize(text: string, emit: (entry: Entry) => boolean): void {
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark is not part of the zone
  let line = 1;
  let entry: Entry | undefined;
  let parenLine = 0; // line of the open "(", 0 when outside parentheses
  let atLineStart = true;

  const fail = (message: string, at: number): void => {
    if (!entry || entry.error !== undefined) return;
    entry.error = at !== entry.line ? `${message} (on line ${at})` : message;
  };
  const flush = (): boolean => {
    const e = entry;
    entry = undefined;
    if (!e || (e.tokens.length === 0 && e.error === undefined)) return true;
    return emit(e);
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      i++;
      line++;
      if (parenLine === 0) {
        if (!flush()) return;
        atLineStart = true;
      }
      continue;
    }
    if (atLineStart) {
      atLineStart = false;
      entry = { line, blankOwner: c === 32 || c === 9, tokens: [] };
    }
    const current = entry!;
    if (isSpace(c)) {
      i++;
    } else if (c === 59) {
      // ';' comment to the end of the line, also inside parentheses
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? n : nl;
    } else if (c === 40) {
      if (parenLine !== 0) fail('nested "("', line);
      else parenLine = line;
      i++;
    } else if (c === 41) {
      if (parenLine === 0) fail('unbalanced ")"', line);
      parenLine = 0;
      i++;
    } else if (c === 34) {
      // Quoted <character-string>: runs to the next unescaped '"' on the same line.
      const start = i + 1;
      let j = start;
      let closed = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 34) {
          closed = true;
          break;
        }
        if (d === 10) break;
        if (d === 92) {
          if (j + 1 >= n || text.charCodeAt(j + 1) === 10) break;
          j += 2;
          continue;
        }
        j++;
      }
      if (closed) {
        current.tokens.push({ text: text.slice(start, j), quoted: true, line });
        i = j + 1;
      } else {
        fail('unterminated quoted string', line);
        i = j; // resume at the newline (or the end): the next line is parsed afresh
      }
    } else {
      const start = i;
      let j = i;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 92) {
          const next = j + 1 < n ? text.charCodeAt(j + 1) : -1;
          if (next === -1 || next === 10 || next === 13) {
            fail('backslash at the end of a line', line);
            j++;
            break;
          }
          j += 2; // \X: X is never a delimiter; the digits of \DDD are ordinary characters
          continue;
        }
        if (isDelimiter(d)) break;
        j++;
      }
      current.tokens.push({ text: text.slice(start, j), quoted: false, line });
      i = j;
    }
  }
  if (parenLine !== 0) fail('unbalanced "(": no ")" before the end of the file', parenLine);
  flush();
}
