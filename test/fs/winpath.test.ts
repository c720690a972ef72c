// Windows paths (FORMAT.md section 9, "Windows paths"): the pure rules, on both platforms. The Windows
// rules run here on Linux with the platform given as 'win32'.
import { describe, expect, it } from 'vitest';
import { caseKey, plannedNames, resolveCaseCollisions, rootKind, rootNameOf, rootPlacement, windowsName } from '../../core/fs/winpath.js';
import { isSafeEntryName } from '../../core/repo/tree.js';
import { splitPointPath } from '../../core/restore/restorer.js';

const pua = (c: string) => String.fromCharCode(0xf000 + c.charCodeAt(0));
const mapped = (name: string) => windowsName(Buffer.from(name, 'utf8'));

describe('rootNameOf: the recorded form of a source', () => {
  it('records Windows drive, UNC and long paths with "/" separators and an upper-case drive letter', () => {
    expect(rootNameOf('C:\\Data\\Docs', 'win32')).toBe('C:/Data/Docs');
    expect(rootNameOf('c:\\data\\docs\\', 'win32')).toBe('C:/data/docs');
    expect(rootNameOf('C:\\', 'win32')).toBe('C:/');
    expect(rootNameOf('z:/Mixed\\seps', 'win32')).toBe('Z:/Mixed/seps');
    expect(rootNameOf('\\\\srv\\share\\Docs', 'win32')).toBe('//srv/share/Docs');
    expect(rootNameOf('\\\\srv\\share', 'win32')).toBe('//srv/share');
    expect(rootNameOf('\\\\?\\C:\\Long\\Path', 'win32')).toBe('C:/Long/Path');
    expect(rootNameOf('\\\\?\\UNC\\srv\\share\\x', 'win32')).toBe('//srv/share/x');
  });

  it('refuses device and volume namespaces, relative forms and "." or ".." with AZB_ARGS_INVALID', () => {
    for (const bad of ['\\\\.\\PhysicalDrive0', '\\\\?\\Volume{0b1c2d3e-0000-0000-0000-000000000000}\\x', '\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\x',
      '\\\\?\\..', 'C:foo', '\\foo', 'foo', '\\\\srv', 'C:\\a\\..\\b', '\\\\srv\\..\\x', '\\\\?\\C:\\..']) {
      expect(() => rootNameOf(bad, 'win32'), bad).toThrow(expect.objectContaining({ code: 'AZB_ARGS_INVALID' }));
    }
  });

  it('keeps POSIX sources exactly as given (Linux trees unchanged)', () => {
    for (const p of ['/srv/data', '/', '//srv/x', '/a\\b', '/C:/x']) expect(rootNameOf(p, 'linux')).toBe(p);
  });
});

describe('rootKind and rootPlacement: where a root restores', () => {
  it('places drive and UNC roots under a target on both systems', () => {
    for (const platform of ['linux', 'win32'] as const) {
      expect(rootPlacement('Z:/data/docs', undefined, { platform, target: '/t' })).toEqual({ base: '/t', parts: ['Z', 'data', 'docs'] });
      expect(rootPlacement('c:/', 'windows', { platform, target: '/t' })).toEqual({ base: '/t', parts: ['C'] });
      expect(rootPlacement('//srv/share/Docs', 'windows', { platform, target: '/t' })).toEqual({ base: '/t', parts: ['UNC', 'srv', 'share', 'Docs'] });
    }
  });

  it('restores Windows roots to their original drive or share on Windows only', () => {
    expect(rootPlacement('Z:/data/docs', 'windows', { platform: 'win32' })).toEqual({ base: 'Z:/', parts: ['data', 'docs'] });
    expect(rootPlacement('C:/', 'windows', { platform: 'win32' })).toEqual({ base: 'C:/', parts: [] });
    expect(rootPlacement('//srv/share/Docs', 'windows', { platform: 'win32' })).toEqual({ base: '//srv/share/', parts: ['Docs'] });
    expect(rootPlacement('Z:/data', undefined, { platform: 'linux' })).toMatchObject({ error: 'needs-target' });
    expect(rootPlacement('/srv/data', undefined, { platform: 'win32' })).toMatchObject({ error: 'needs-target' });
  });

  it('keeps POSIX roots as before: "//x" is UNC only in a Windows point', () => {
    expect(rootPlacement('/srv/data', undefined, { platform: 'linux' })).toEqual({ base: undefined, parts: ['srv', 'data'] });
    expect(rootPlacement('/', undefined, { platform: 'linux', target: '/t' })).toEqual({ base: '/t', parts: [] });
    expect(rootPlacement('//srv/x', undefined, { platform: 'linux', target: '/t' })).toEqual({ base: '/t', parts: ['srv', 'x'] });
    expect(rootKind('//srv/x', undefined)).toEqual({ kind: 'posix' });
    // "C:.." is no drive path: in a Linux point an ordinary name (restored inside the target).
    expect(rootPlacement('C:..', undefined, { platform: 'linux', target: '/t' })).toEqual({ base: '/t', parts: ['C:..'] });
  });

  it('refuses Windows roots that would leave the drive or reach a device namespace', () => {
    for (const bad of ['C:..', 'C:x', 'C:/../etc', 'C:/a/./b', '//srv', '//./PhysicalDrive0/x', '//?/C:/x', '//?/..', '//?/UNC/srv', '//srv/../x', '//srv/sh:are/x', '//s*v/share', '/etc/passwd']) {
      expect(rootKind(bad, 'windows'), bad).toMatchObject({ kind: 'invalid' });
      expect(rootPlacement(bad, 'windows', { platform: 'win32', target: 'C:/t' }), bad).toMatchObject({ error: 'invalid' });
      expect(rootPlacement(bad, 'windows', { platform: 'linux', target: '/t' }), bad).toMatchObject({ error: 'invalid' });
    }
    // The drive form is Windows in any point, so its ".." is refused there too.
    expect(rootPlacement('C:/../etc', undefined, { platform: 'linux', target: '/t' })).toMatchObject({ error: 'invalid' });
  });
});

describe('windowsName: names Windows forbids', () => {
  it('maps forbidden characters to U+F000 plus their code (the Cygwin mapping)', () => {
    expect(mapped('a:b')).toEqual({ name: `a${pua(':')}b`, mapped: true });
    expect(mapped('what?*"<>|\\.txt')!.name).toBe(`what${[...'?*"<>|\\'].map(pua).join('')}.txt`);
    expect(mapped('tab\there')!.name).toBe(`tab${pua('\t')}here`);
    expect(mapped('report.txt')).toEqual({ name: 'report.txt', mapped: false });
    expect(mapped('Ünïcödé ✓')).toEqual({ name: 'Ünïcödé ✓', mapped: false });
  });

  it('maps a trailing dot or space, which Windows would strip', () => {
    expect(mapped('name.')!.name).toBe(`name${pua('.')}`);
    expect(mapped('name ')!.name).toBe(`name${pua(' ')}`);
    expect(mapped('...')!.name).toBe(`..${pua('.')}`);
    expect(mapped('.hidden')).toEqual({ name: '.hidden', mapped: false });
  });

  it('maps reserved device names in any case, with any extension', () => {
    expect(mapped('CON')!.name).toBe(`CO${pua('N')}`);
    expect(mapped('con.txt')!.name).toBe(`co${pua('n')}.txt`);
    expect(mapped('NUL.tar.gz')!.name).toBe(`NU${pua('L')}.tar.gz`);
    expect(mapped('LPT1.log')!.name).toBe(`LPT${pua('1')}.log`);
    expect(mapped('com9')!.name).toBe(`com${pua('9')}`);
    expect(mapped('COM\u00b9')!.name).toBe(`COM${String.fromCharCode(0xf0b9)}`);
    expect(mapped('CON .txt')!.name).toBe(`CO${pua('N')} .txt`);
    expect(mapped('Aux')!.name).toBe(`Au${pua('x')}`);
    for (const fine of ['CONSOLE', 'COM10', 'LPT0', 'xNUL', 'CON_', 'prn1.txt']) expect(mapped(fine), fine).toEqual({ name: fine, mapped: false });
  });

  it('turns bytes that are not UTF-8 into U+FFFD, reported as mapped', () => {
    expect(windowsName(Buffer.from([0x61, 0xff, 0x62]))).toEqual({ name: 'a\ufffdb', mapped: true });
  });

  it('refuses names no system may create, and never yields a name that escapes or names a stream', () => {
    for (const bad of ['', '.', '..', 'a/b', 'a\0b']) expect(mapped(bad), JSON.stringify(bad)).toBeUndefined();
    const samples = ['C:..', '..\\..', '\\..', 'C:', 'a:stream', '..:x', '. ', ' .', '\\\\?\\..', 'x\\..\\..\\y'];
    for (let c = 1; c < 128; c++) if (c !== 0x2f) samples.push(String.fromCharCode(c), `${String.fromCharCode(c)}${String.fromCharCode(c)}`, `a${String.fromCharCode(c)}`);
    for (const s of samples) {
      const m = windowsName(Buffer.from(s, 'utf8'));
      if (s === '.' || s === '..') { expect(m).toBeUndefined(); continue; }
      expect(m, JSON.stringify(s)).toBeDefined();
      expect(m!.name, JSON.stringify(s)).not.toMatch(/[\u0000-\u001f\\/:*?"<>|]|[. ]$|^\.\.?$/);
      expect(isSafeEntryName(Buffer.from(m!.name), 'win32'), JSON.stringify(s)).toBe(true);
    }
  });
});

describe('case-insensitive collisions', () => {
  it('keeps the first name of each group and numbers the others with the lowest free n', () => {
    expect(resolveCaseCollisions(['Report.txt', 'report.txt', 'REPORT.TXT', 'report (1).txt'])).toEqual(['Report.txt', 'report (2).txt', 'REPORT (3).TXT', 'report (1).txt']);
    expect(resolveCaseCollisions(['Makefile', 'makefile'])).toEqual(['Makefile', 'makefile (1)']);
    expect(resolveCaseCollisions(['ä', 'Ä', 'b'])).toEqual(['ä', 'Ä (1)', 'b']);
    // Windows upper-cases one character at a time: "ß" is not "SS".
    expect(caseKey('straße')).toBe('STRAßE');
    expect(resolveCaseCollisions(['straße', 'STRASSE'])).toEqual(['straße', 'STRASSE']);
  });

  it('plannedNames: on Linux names stay as they are (":" included); on Windows mapped, then made unique, with what they met', () => {
    const raws = ['CON', 'a:b', 'Docs', 'docs', `CO${pua('N')}`, '..', 'ok'].map((n) => Buffer.from(n, 'utf8'));
    const linux = plannedNames(raws, 'linux');
    expect(linux.map((p) => ('unsafe' in p ? null : p.name.toString()))).toEqual(['CON', 'a:b', 'Docs', 'docs', `CO${pua('N')}`, null, 'ok']);
    expect(linux.every((p) => !('mapped' in p))).toBe(true);
    const win = plannedNames(raws, 'win32');
    expect(win[0]).toEqual({ name: Buffer.from(`CO${pua('N')}`), mapped: `CO${pua('N')}` });
    expect(win[1]).toEqual({ name: Buffer.from(`a${pua(':')}b`), mapped: `a${pua(':')}b` });
    expect(win[2]).toEqual({ name: Buffer.from('Docs') });
    expect(win[3]).toEqual({ name: Buffer.from('docs (1)'), mapped: 'docs (1)', collidesWith: 'Docs' });
    expect(win[4]).toEqual({ name: Buffer.from(`CO${pua('N')} (1)`), mapped: `CO${pua('N')} (1)`, collidesWith: `CO${pua('N')}` });
    expect(win[5]).toEqual({ unsafe: true });
    expect(win[6]).toEqual({ name: Buffer.from('ok') });
  });

  it('isSafeEntryName refuses ":" and "\\" only on Windows', () => {
    expect(isSafeEntryName(Buffer.from('a:b'), 'linux')).toBe(true);
    expect(isSafeEntryName(Buffer.from('a\\b'), 'linux')).toBe(true);
    expect(isSafeEntryName(Buffer.from('a:b'), 'win32')).toBe(false);
    expect(isSafeEntryName(Buffer.from('a\\b'), 'win32')).toBe(false);
  });
});

describe('splitPointPath (item paths)', () => {
  it('on Windows "\\" separates and a drive letter matches in either case; on Linux both are name characters', () => {
    const text = (parts: Buffer[]) => parts.map((p) => p.toString());
    expect(text(splitPointPath('c:\\Data\\a.txt', 'win32'))).toEqual(['C:', 'Data', 'a.txt']);
    expect(text(splitPointPath('\\\\srv\\share\\x', 'win32'))).toEqual(['srv', 'share', 'x']);
    expect(text(splitPointPath('c:\\Data', 'linux'))).toEqual(['c:\\Data']);
    expect(text(splitPointPath('/srv/c:/x', 'win32'))).toEqual(['srv', 'c:', 'x']);
  });
});
