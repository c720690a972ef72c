// Parsing of a certificate subject given by the user: "CN=server01, O=Contoso" or just "server01".
import { AzbError } from '../protocol/errors.js';

/** Attribute short names accepted in a subject, as node-forge knows them. */
const KNOWN = new Set(['CN', 'O', 'OU', 'L', 'ST', 'C', 'E']);

export interface SubjectAttribute { shortName: string; value: string }

/** Splits a distinguished name into attributes; a bare name becomes CN=name. Commas may be escaped as "\,". */
export function parseSubject(input: string): SubjectAttribute[] {
  const text = input.trim();
  if (!text.includes('=')) return [{ shortName: 'CN', value: checkValue(text, input) }];
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) { cur += text[++i]; continue; }
    if (ch === ',') { parts.push(cur); cur = ''; continue; }
    cur += ch;
  }
  parts.push(cur);
  const attrs = parts.map((p) => {
    const eq = p.indexOf('=');
    if (eq <= 0) throw invalid(input, `'${p.trim()}' is not of the form NAME=value`);
    const shortName = p.slice(0, eq).trim().toUpperCase();
    if (!KNOWN.has(shortName)) throw invalid(input, `attribute '${shortName}' is not supported (use ${[...KNOWN].join(', ')})`);
    return { shortName, value: checkValue(p.slice(eq + 1).trim(), input) };
  });
  if (!attrs.some((a) => a.shortName === 'CN')) throw invalid(input, 'a CN= attribute is required');
  const c = attrs.find((a) => a.shortName === 'C');
  if (c && !/^[A-Za-z]{2}$/.test(c.value)) throw invalid(input, 'C= must be a two-letter country code');
  return attrs;
}

function checkValue(value: string, input: string): string {
  if (value.length === 0) throw invalid(input, 'empty value');
  if (value.length > 64) throw invalid(input, `value '${value.slice(0, 20)}…' is longer than 64 characters`);
  if (/[\u0000-\u001f]/.test(value)) throw invalid(input, 'control characters are not allowed');
  return value;
}

function invalid(input: string, why: string): AzbError {
  return new AzbError('AZB_CERT_SUBJECT_INVALID', `Invalid certificate subject '${input}': ${why}.`, {
    target: 'subject',
    hint: "Give a name such as 'CN=server01' or 'CN=server01, O=Contoso'.",
  });
}

/** Formats attributes back into the usual "CN=…, O=…" form. */
export function formatSubject(attrs: SubjectAttribute[]): string {
  return attrs.map((a) => `${a.shortName}=${a.value.replace(/,/g, '\\,')}`).join(', ');
}
