import { describe, expect, it } from 'vitest';
import { headerText } from './request-headers.js';

/** What Node hands over for `bytes` on the wire: one Latin-1 character per byte. */
const asNodeReadsIt = (bytes: Buffer) => bytes.toString('latin1');

describe('headerText', () => {
  it('reads UTF-8 bytes as the text the caller sent, beyond Latin-1 too', () => {
    for (const unit of ['ユーザー-42', 'user-ü', '用户😀']) {
      expect(headerText(asNodeReadsIt(Buffer.from(unit, 'utf8')))).toBe(unit);
    }
  });

  it('keeps a Latin-1 value that is not UTF-8 as it came, and ASCII untouched', () => {
    const latin1 = asNodeReadsIt(Buffer.from([0x75, 0xfc, 0x6e])); // "uün" sent as Latin-1 bytes
    expect(headerText(latin1)).toBe('u\u00fcn');
    expect(headerText('user-42')).toBe('user-42');
    // Bytes that are not valid UTF-8 in the middle of otherwise valid ones stay Latin-1 whole.
    const mixed = asNodeReadsIt(Buffer.concat([Buffer.from('ユ', 'utf8'), Buffer.from([0xff])]));
    expect(headerText(mixed)).toBe(mixed);
  });

  it('reads a UTF-8 replacement character sent on purpose as itself', () => {
    expect(headerText(asNodeReadsIt(Buffer.from('a\ufffdb', 'utf8')))).toBe('a\ufffdb');
  });
});
