import { describe, expect, it } from 'vitest';
import { Emitter } from '../src/internal/emitter.js';

interface Events {
  tick: (n: number) => void;
  done: () => void;
}

describe('Emitter', () => {
  it('calls each listener once per emit, in the order added, until it is removed', () => {
    const e = new Emitter<Events>();
    const seen: string[] = [];
    const a = (n: number) => seen.push(`a${n}`);
    const b = (n: number) => seen.push(`b${n}`);
    const offA = e.on('tick', a);
    e.on('tick', a); // the same listener twice counts once, as in a Set
    e.on('tick', b);
    expect(e.listenerCount('tick')).toBe(2);
    e.emit('tick', 1);
    offA();
    e.emit('tick', 2);
    e.off('tick', b);
    e.emit('tick', 3);
    expect(seen).toEqual(['a1', 'b1', 'b2']);
    expect(e.listenerCount('tick')).toBe(0);
    expect(e.listenerCount('done')).toBe(0);
  });

  it('keeps one listener alone, and a listener removed during an emit is not called by it', () => {
    const e = new Emitter<Events>();
    const seen: string[] = [];
    const second = () => seen.push('second');
    e.on('done', () => {
      seen.push('first');
      e.off('done', second);
    });
    e.on('done', second);
    e.emit('done');
    expect(seen).toEqual(['first']);
    e.clear();
    e.emit('done');
    expect(e.listenerCount('done')).toBe(0);
    expect(seen).toEqual(['first']);
  });
});
