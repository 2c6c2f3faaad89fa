import { describe, it, expect } from 'vitest'
import jsep from 'jsep'
import {
  compileExpression,
  isTruthy,
  ExpressionSyntaxError,
  ExpressionRuntimeError,
  FUNCTION_NAMES,
  type Rec
} from '../../src/shared/expression'

/** Evaluates `source` on `rec`. */
function ev(source: string, rec: Rec = {}): unknown {
  return compileExpression(source).evaluate(rec)
}

/** The syntax error compiling `source` throws. */
function syntaxErrorOf(source: string): ExpressionSyntaxError {
  try {
    compileExpression(source)
  } catch (e) {
    expect(e).toBeInstanceOf(ExpressionSyntaxError)
    return e as ExpressionSyntaxError
  }
  throw new Error(`expected a syntax error for ${source}`)
}

/** The runtime error evaluating `source` on `rec` throws. */
function runtimeErrorOf(source: string, rec: Rec = {}): ExpressionRuntimeError {
  const expr = compileExpression(source)
  try {
    expr.evaluate(rec)
  } catch (e) {
    expect(e).toBeInstanceOf(ExpressionRuntimeError)
    return e as ExpressionRuntimeError
  }
  throw new Error(`expected a runtime error for ${source}`)
}

// Values as they come out of a CSV file: all text.
const order: Rec = { status: 'shipped', amount: '19.99', quantity: '3', country: 'de', code: '00123', note: '' }

describe('the examples analysts write', () => {
  it('filters on a text column', () => {
    const filter = compileExpression("status != 'cancelled'")
    expect(filter.evaluate(order)).toBe(true)
    expect(filter.evaluate({ ...order, status: 'cancelled' })).toBe(false)
  })

  it('derives a rounded product of numeric text', () => {
    expect(ev('round(amount * quantity, 2)', order)).toBe(59.97)
  })

  it('upper-cases a column', () => {
    expect(ev('upper(country)', order)).toBe('DE')
  })
})

describe('numbers in text', () => {
  it('treats numeric text as a number in arithmetic', () => {
    expect(ev('code + 1', order)).toBe(124)
    expect(ev("' -3.5 ' * 2")).toBe(-7)
    expect(ev("'1e3' + 0")).toBe(1000)
    expect(ev("'+5' - '.5'")).toBe(4.5)
    expect(ev('-code', order)).toBe(-123)
  })

  it('leaves the value untouched when it is only read', () => {
    expect(ev('code', order)).toBe('00123')
    expect(ev("col('code')", order)).toBe('00123')
  })

  it('counts booleans as 1 and 0', () => {
    expect(ev('true + 1')).toBe(2)
    expect(ev('false * 3')).toBe(0)
  })

  it('follows operator precedence and parentheses', () => {
    expect(ev('1 + 2 * 3')).toBe(7)
    expect(ev('(1 + 2) * 3')).toBe(9)
    expect(ev('10 % 4')).toBe(2)
    expect(ev('7 / 2')).toBe(3.5)
    expect(ev('- - 2')).toBe(2)
    expect(ev("+'42'")).toBe(42)
  })

  it('propagates empty values through arithmetic (like an empty cell)', () => {
    expect(ev('amount * quantity', { amount: '10', quantity: '' })).toBeNull()
    expect(ev('amount * quantity', { amount: '10' })).toBeNull()
    expect(ev('missing - 1')).toBeNull()
    expect(ev('-missing')).toBeNull()
    expect(ev('missing / 0')).toBeNull()
  })
})

describe('+ joins text', () => {
  it('concatenates when either side is not a number', () => {
    expect(ev("'Mr ' + name", { name: 'Smith' })).toBe('Mr Smith')
    expect(ev("5 + 'abc'")).toBe('5abc')
    expect(ev("first + ' ' + last", { first: 'Ada', last: 'Lovelace' })).toBe('Ada Lovelace')
  })

  it('reads an empty value as empty text', () => {
    expect(ev("name + '!'", {})).toBe('!')
    expect(ev('missing + 1')).toBe('1')
    expect(ev("'100' + ''")).toBe('100')
  })

  it('writes numbers without binary noise', () => {
    expect(ev("'total: ' + (0.1 + 0.2)")).toBe('total: 0.3')
  })
})

describe('comparisons', () => {
  it('compares numbers and numeric text numerically', () => {
    expect(ev("'10' > '9'")).toBe(true)
    expect(ev('amount > 5', order)).toBe(true)
    expect(ev("amount == '19.990'", order)).toBe(true)
    expect(ev('code == 123', order)).toBe(true)
    expect(ev("' 7 ' == 7")).toBe(true)
  })

  it('compares other text exactly, case-sensitively', () => {
    expect(ev("'apple' < 'banana'")).toBe(true)
    expect(ev("'abc' == 'ABC'")).toBe(false)
    expect(ev("'abc' == 'abc'")).toBe(true)
    expect(ev("'10' == '10.0'")).toBe(true)
    expect(ev("'10 kg' == '10.0 kg'")).toBe(false)
    expect(ev("amount == 'abc'", order)).toBe(false)
  })

  it('handles empty values like a spreadsheet', () => {
    expect(ev('missing == null')).toBe(true)
    expect(ev('missing == other')).toBe(true)
    expect(ev('missing != 1')).toBe(true)
    expect(ev('missing == 1')).toBe(false)
    expect(ev('missing < 1')).toBe(false)
    expect(ev('missing > 1')).toBe(false)
    expect(ev('missing <= null')).toBe(false)
    // An empty CSV cell is text, not null: isEmpty() is the test for both.
    expect(ev('note == null', order)).toBe(false)
    expect(ev('isEmpty(note)', order)).toBe(true)
  })

  it('compares booleans with booleans and with the text true/false', () => {
    expect(ev('flag == true', { flag: 'TRUE' })).toBe(true)
    expect(ev('flag == false', { flag: 'false' })).toBe(true)
    expect(ev('flag == true', { flag: true })).toBe(true)
    expect(ev("flag == 'yes'", { flag: true })).toBe(false)
    expect(ev('true != false')).toBe(true)
  })

  it('accepts = and <> (and === / !==) as spellings of == and !=', () => {
    expect(ev("status = 'shipped'", order)).toBe(true)
    expect(ev("status <> 'shipped'", order)).toBe(false)
    expect(ev("status === 'shipped'", order)).toBe(true)
    expect(ev("status !== 'shipped'", order)).toBe(false)
    expect(ev('quantity >= 3 and quantity <= 3', order)).toBe(true)
  })
})

describe('logic', () => {
  it('supports && || ! and the words and, or, not (also in capitals)', () => {
    expect(ev("status == 'shipped' && country == 'de'", order)).toBe(true)
    expect(ev("status == 'shipped' and country == 'fr'", order)).toBe(false)
    expect(ev("status == 'x' or country == 'de'", order)).toBe(true)
    expect(ev("status == 'x' || country == 'x'", order)).toBe(false)
    expect(ev("status == 'x' OR country == 'de' AND NOT quantity > 5", order)).toBe(true)
    expect(ev('!true')).toBe(false)
    expect(ev('not false')).toBe(true)
  })

  it('does not mistake column names that start with an operator word', () => {
    const rec = { notes: 'n', order_id: '1', android: 'yes', index: '2' }
    expect(ev("notes == 'n' and android == 'yes' and order_id == 1 and index == 2", rec)).toBe(true)
  })

  it('returns booleans using spreadsheet truthiness', () => {
    expect(ev("'a' and 'b'")).toBe(true)
    expect(ev("'false' or 0")).toBe(false)
    expect(ev("not '0'")).toBe(true)
    expect(ev('not missing')).toBe(true)
  })

  it('short-circuits', () => {
    expect(ev('false and 1 / 0')).toBe(false)
    expect(ev('true or 1 / 0')).toBe(true)
  })

  it('applies not to the whole comparison after it, as in SQL', () => {
    expect(ev("not status == 'cancelled'", order)).toBe(true)
    expect(ev("not status == 'shipped'", order)).toBe(false)
    expect(ev("!status == 'shipped'", order)).toBe(false)
    expect(ev("not quantity + 1 > 3 and country == 'de'", order)).toBe(false)
    expect(ev("not status == 'x' and country == 'fr'", order)).toBe(false)
    expect(ev("country == 'fr' or not status == 'x'", order)).toBe(true)
    expect(ev("not not status == 'shipped'", order)).toBe(true)
  })

  it('keeps a parenthesised not where it is written', () => {
    expect(ev('(not flag) == true', { flag: '' })).toBe(true)
    expect(ev('(!flag) == false', { flag: 'x' })).toBe(true)
  })

  it('has a ternary operator', () => {
    expect(ev("quantity > 2 ? 'bulk' : 'single'", order)).toBe('bulk')
    expect(ev("quantity > 5 ? 'bulk' : quantity > 2 ? 'some' : 'few'", order)).toBe('some')
    expect(ev("quantity > 5 ? 1 / 0 : 'single'", order)).toBe('single')
  })
})

describe('in and oneOf', () => {
  it('tests membership in a list', () => {
    expect(ev("country in ('de', 'fr')", order)).toBe(true)
    expect(ev("country in ('es', 'it')", order)).toBe(false)
    expect(ev("country IN ('de')", order)).toBe(true)
    expect(ev("country not in ('de', 'fr')", order)).toBe(false)
    expect(ev("country NOT IN ('es')", order)).toBe(true)
    expect(ev('quantity in (1, 2, 3)', order)).toBe(true)
    expect(ev("not country in ('de') or true", order)).toBe(true)
  })

  it('has oneOf() as a function form', () => {
    expect(ev("oneOf(country, 'fr', 'de')", order)).toBe(true)
    expect(ev("oneOf(country, 'fr')", order)).toBe(false)
    expect(ev('oneOf(quantity, 3)', order)).toBe(true)
  })

  it('wants the list in parentheses', () => {
    expect(syntaxErrorOf("country in 'de'").message).toContain("x in ('a', 'b')")
  })
})

describe('columns', () => {
  it('reads a missing column as null, never undefined', () => {
    expect(ev('missing')).toBeNull()
    expect(ev('x', { x: undefined })).toBeNull()
  })

  it('reads columns whose names are not identifiers with col()', () => {
    const rec = { 'Order ID': 'A-17', 'unit price': '2.5', '2024': 'y' }
    expect(ev("col('Order ID')", rec)).toBe('A-17')
    expect(ev('col("unit price") * 2', rec)).toBe(5)
    expect(ev("col('2024')", rec)).toBe('y')
    expect(ev("col('nope')", rec)).toBeNull()
  })

  it('wants a quoted name in col()', () => {
    expect(syntaxErrorOf('col(name)').message).toContain("col('Order ID')")
    expect(syntaxErrorOf('col()').message).toContain('col(')
    expect(syntaxErrorOf("col('a', 'b')").message).toContain('col(')
  })

  it('lists the columns read, in order of first appearance, without duplicates', () => {
    const expr = compileExpression("if(b > 0, a + b * a, col('Order ID')) + upper(c) + col('a')")
    expect(expr.columns).toEqual(['b', 'a', 'Order ID', 'c'])
    expect(compileExpression("country in (home, 'de') and not x == y").columns).toEqual(['country', 'home', 'x', 'y'])
    expect(compileExpression("round(1.5) + 'x'").columns).toEqual([])
  })

  it('does not count function names as columns', () => {
    expect(compileExpression('upper(upper)').columns).toEqual(['upper'])
    expect(ev('upper(upper)', { upper: 'x' })).toBe('X')
  })

  it('keeps __proto__, constructor and friends away from the prototype', () => {
    expect(ev('__proto__')).toBeNull()
    expect(ev('constructor')).toBeNull()
    expect(ev('toString')).toBeNull()
    expect(ev('hasOwnProperty')).toBeNull()
    expect(ev("col('__proto__')")).toBeNull()
    expect(ev("col('constructor') + ''")).toBe('')
    // JSON.parse makes __proto__ an own property, which is then an ordinary column.
    const rec = JSON.parse('{"__proto__": "p", "constructor": "c"}') as Rec
    expect(ev('__proto__ + constructor', rec)).toBe('pc')
  })

  it('cannot call prototype methods as functions', () => {
    expect(syntaxErrorOf('constructor(1)').message).toContain('unknown function "constructor"')
    expect(syntaxErrorOf('toString(amount)').message).toContain('unknown function "toString"')
    expect(syntaxErrorOf('hasOwnProperty(amount)').message).toContain('unknown function')
  })

  it('shows nested JSON values as JSON text', () => {
    expect(ev("text(tags) + ''", { tags: ['a', 'b'] })).toBe('["a","b"]')
  })
})

describe('syntax errors', () => {
  it('suggests the function meant', () => {
    const e = syntaxErrorOf('uper(country)')
    expect(e.message).toMatch(/^unknown function "uper"; did you mean "upper"\?/)
    expect(e.position).toBe(0)
    expect(syntaxErrorOf('x + ROUND(amount)').message).toContain('did you mean "round"?')
    expect(syntaxErrorOf('x + ROUND(amount)').position).toBe(4)
    expect(syntaxErrorOf('length(name)').message).toContain('did you mean "len"?')
    expect(syntaxErrorOf('frobnicate(name)').message).toMatch(/^unknown function "frobnicate"( |$)/)
  })

  it('checks the number of arguments', () => {
    expect(syntaxErrorOf('round(1, 2, 3)').message).toContain('round() takes 1 to 2 arguments, not 3')
    expect(syntaxErrorOf('upper()').message).toContain('upper() takes 1 argument, not 0')
    expect(syntaxErrorOf('today(1)').message).toContain('today() takes 0 arguments')
    expect(syntaxErrorOf('oneOf(x)').message).toContain('at least 2')
  })

  it('rejects member access and methods', () => {
    const dot = syntaxErrorOf('order.total > 5')
    expect(dot.message).toContain("col('order.total')")
    expect(dot.position).toBe(0)
    expect(syntaxErrorOf("a['b']").message).toContain('square brackets')
    expect(syntaxErrorOf('status.toUpperCase()').message).toContain('upper(')
    expect(syntaxErrorOf("'abc'.length").message).toContain('"."')
    expect(syntaxErrorOf("upper(a).b").message).toContain('"."')
  })

  it('rejects lists, this, calls of non-functions and unsupported operators', () => {
    expect(syntaxErrorOf('[1, 2]').message).toContain('square brackets')
    expect(syntaxErrorOf('this').message).toContain('"this"')
    expect(syntaxErrorOf('(1, 2)').message).toContain('only allowed after "in"')
    expect(syntaxErrorOf('(upper)(x)').message).toContain('only a function name')
    const pow = syntaxErrorOf('amount ^ 2')
    expect(pow.message).toContain('pow(x, y)')
    expect(pow.position).toBe(7)
    expect(syntaxErrorOf('a && b & c').position).toBe(7)
    expect(syntaxErrorOf('amount ** 2').message).toContain('pow(x, y)')
    expect(syntaxErrorOf('a ?? b').message).toContain('coalesce')
    expect(syntaxErrorOf('~a').message).toContain('"~"')
    expect(syntaxErrorOf('a >> 1').message).toContain('">>"')
  })

  it('rejects assignment', () => {
    expect(() => compileExpression('a += 1')).toThrow(ExpressionSyntaxError)
    expect(() => compileExpression('a = = 1')).toThrow(ExpressionSyntaxError)
  })

  it('rejects two expressions in a row, pointing at the second', () => {
    const e = syntaxErrorOf("status 'x'")
    expect(e.message).toContain('expected an operator')
    expect(e.position).toBe(7)
    expect(syntaxErrorOf('a, b').message).toContain('unexpected ","')
    expect(syntaxErrorOf('a;').message).toContain('unexpected ";"')
    expect(syntaxErrorOf(', a').position).toBe(0)
    expect(syntaxErrorOf('a And b').message).toContain('write "and" in lowercase')
    expect(syntaxErrorOf('a not  in (1)').message).toContain('single space')
  })

  it('rewords jsep messages and gives positions', () => {
    const paren = syntaxErrorOf('round(amount')
    expect(paren.message).toMatch(/^missing "\)" \(at the end\)$/)
    expect(paren.position).toBe(12)
    const quote = syntaxErrorOf("status == 'shipped")
    expect(quote.message).toContain('missing its closing quote')
    expect(quote.message).toContain('at character 11')
    expect(quote.position).toBe(10)
    expect(syntaxErrorOf('a +').message).toMatch(/^expected a value after "\+"/)
    expect(syntaxErrorOf('a and').message).toMatch(/^expected a value after "and"/)
    expect(syntaxErrorOf('not').message).toMatch(/^expected a value after "not"/)
    expect(syntaxErrorOf('12abc + 1').message).toContain("col('12abc')")
    expect(syntaxErrorOf('a ? b').message).toContain('":"')
    expect(syntaxErrorOf('round(a,, 2)').message).toContain('unexpected ","')
    expect(syntaxErrorOf('=a + 1').message).toContain('does not start with "="')
    expect(syntaxErrorOf('a )').message).toContain('unexpected ")"')
    expect(syntaxErrorOf('in').message).toContain('"in"')
  })

  it('rejects an empty expression', () => {
    expect(syntaxErrorOf('').message).toContain('empty')
    expect(syntaxErrorOf('   ').message).toContain('empty')
    expect(syntaxErrorOf('()').message).toContain('empty')
  })
})

describe('runtime errors', () => {
  it('reports arithmetic on text that is not a number', () => {
    const e = runtimeErrorOf("'abc' * 2")
    expect(e.message).toBe('cannot do arithmetic with "abc" (not a number)')
    expect(runtimeErrorOf('amount - 1', { amount: '1,000' }).message).toContain('"1,000"')
    expect(runtimeErrorOf('-name', { name: 'Ada' }).message).toContain('"Ada"')
    // Reported even when the other side is empty.
    expect(runtimeErrorOf("missing * 'abc'").message).toContain('"abc"')
  })

  it('reports division by zero', () => {
    expect(runtimeErrorOf('amount / 0', order).message).toBe('division by zero')
    expect(runtimeErrorOf("amount / '0'", order).message).toBe('division by zero')
    expect(runtimeErrorOf('amount % 0', order).message).toBe('division by zero')
  })

  it('reports values functions cannot use', () => {
    expect(runtimeErrorOf("round('abc')").message).toBe('round(): "abc" is not a number')
    expect(runtimeErrorOf("date('nope')").message).toContain('"nope" is not a date')
    expect(runtimeErrorOf("number('12 kg')").message).toContain('"12 kg" is not a number')
    expect(runtimeErrorOf('sqrt(-4)').message).toContain('negative')
    expect(runtimeErrorOf("left('abc', -1)").message).toContain('0 or more')
    expect(runtimeErrorOf('pow(10, 400)').message).toContain('not a finite number')
    expect(runtimeErrorOf('1e300 * 1e300').message).toContain('too large')
  })

  it('shortens long values in messages', () => {
    const message = runtimeErrorOf('x * 2', { x: 'y'.repeat(500) }).message
    expect(message.length).toBeLessThan(100)
  })
})

describe('number functions', () => {
  it('rounds decimals correctly, half away from zero', () => {
    expect(ev('round(1.005, 2)')).toBe(1.01)
    expect(ev('round(2.5)')).toBe(3)
    expect(ev('round(-2.5)')).toBe(-3)
    expect(ev('round(1234.5678, -2)')).toBe(1200)
    expect(ev('round(1234.5678, 2)')).toBe(1234.57)
    expect(ev("round('2.675', 2)")).toBe(2.68)
    expect(ev('round(-1.005, 2)')).toBe(-1.01)
    expect(ev('round(0.285, 2)')).toBe(0.29)
    expect(ev('round(1e20, 2)')).toBe(1e20)
    expect(Object.is(ev('round(-0.001, 2)'), 0)).toBe(true)
    expect(ev('round(x, 2)', { x: '' })).toBeNull()
    expect(ev('round(x, 2)')).toBeNull()
  })

  it('has floor, ceil, abs, int, sqrt, pow, number', () => {
    expect(ev("floor('2.7')")).toBe(2)
    expect(ev('floor(-2.5)')).toBe(-3)
    expect(ev('ceil(2.1)')).toBe(3)
    expect(Object.is(ev('ceil(-0.5)'), 0)).toBe(true)
    expect(ev("abs('-4')")).toBe(4)
    expect(ev("int('3.9')")).toBe(3)
    expect(ev('int(-3.9)')).toBe(-3)
    expect(ev('sqrt(16)')).toBe(4)
    expect(ev('pow(2, 10)')).toBe(1024)
    expect(ev("number(' 42 ')")).toBe(42)
    expect(ev('number(true)')).toBe(1)
    expect(ev("number('')")).toBeNull()
    expect(ev('floor(missing)')).toBeNull()
  })

  it('has min and max over numbers, skipping empty values', () => {
    expect(ev("min(3, '1', 2)")).toBe(1)
    expect(ev("max(3, '10', 2)")).toBe(10)
    expect(ev("min(missing, '', 5)")).toBe(5)
    expect(ev('max(missing)')).toBeNull()
    expect(runtimeErrorOf("max(1, 'x')").message).toContain('max(): "x" is not a number')
  })
})

describe('text functions', () => {
  it('changes case and trims', () => {
    expect(ev("lower('ÄBC')")).toBe('äbc')
    expect(ev("trim('  a b  ')")).toBe('a b')
    expect(ev('upper(12.5)')).toBe('12.5')
    expect(ev('upper(missing)')).toBeNull()
    expect(ev('lower(missing)')).toBeNull()
    expect(ev('trim(missing)')).toBeNull()
  })

  it('measures length in characters', () => {
    expect(ev("len('héllo')")).toBe(5)
    expect(ev("len('a😀b')")).toBe(3)
    expect(ev('len(12.50)')).toBe(4)
    expect(ev('len(missing)')).toBe(0)
  })

  it('cuts text with left, right, mid (1-based) and substr (0-based)', () => {
    expect(ev("left('Batchery', 5)")).toBe('Batch')
    expect(ev("right('Batchery', 4)")).toBe('hery')
    expect(ev("right('abc', 0)")).toBe('')
    expect(ev("right('abc', 10)")).toBe('abc')
    expect(ev("mid('Batchery', 2, 3)")).toBe('atc')
    expect(ev("substr('Batchery', 1, 3)")).toBe('atc')
    expect(ev("substr('Batchery', 5)")).toBe('ery')
    expect(ev("left('😀😀x', 2)")).toBe('😀😀')
    expect(ev("left(code, '2')", order)).toBe('00')
    expect(ev('left(missing, 2)')).toBeNull()
    expect(runtimeErrorOf("mid('abc', 0, 1)").message).toContain('1 or more')
  })

  it('replaces every occurrence of plain text', () => {
    expect(ev("replace('a.b.c', '.', '-')")).toBe('a-b-c')
    expect(ev("replace('x', 'x', '$&$&')")).toBe('$&$&')
    expect(ev("replace('abc', '', 'z')")).toBe('abc')
    expect(ev("replace('a-b', '-', missing)")).toBe('ab')
    expect(ev("replace(missing, 'a', 'b')")).toBeNull()
  })

  it('tests contents', () => {
    expect(ev("contains(status, 'hip')", order)).toBe(true)
    expect(ev("contains(status, 'HIP')", order)).toBe(false)
    expect(ev("startsWith(code, '00')", order)).toBe(true)
    expect(ev("endsWith(code, '23')", order)).toBe(true)
    expect(ev("contains(missing, 'x')")).toBe(false)
  })

  it('joins, converts and pads', () => {
    expect(ev("concat(first, ' ', missing, last, 1)", { first: 'A', last: 'B' })).toBe('A B1')
    expect(ev('text(0.1 + 0.2)')).toBe('0.3')
    expect(ev('text(1.50)')).toBe('1.5')
    expect(ev('text(true)')).toBe('true')
    expect(ev('text(missing)')).toBeNull()
    expect(ev("padStart(id, 6, '0')", { id: 123 })).toBe('000123')
    expect(ev("padStart('ab', 5)")).toBe('   ab')
    expect(ev("padStart('abcdef', 3, '0')")).toBe('abcdef')
    expect(ev("padStart('7', 4, 'xy')")).toBe('xyx7')
    expect(runtimeErrorOf("padStart('7', 1e9)").message).toContain('too large')
  })

  it('splits and picks a part', () => {
    expect(ev("split('a,b,c', ',', 1)")).toBe('b')
    expect(ev("split('a,b,c', ',', -1)")).toBe('c')
    expect(ev("split('a,b,c', ',', 5)")).toBeNull()
    expect(ev("split(email, '@', 1)", { email: 'ada@example.org' })).toBe('example.org')
  })
})

describe('logic and empty values', () => {
  it('evaluates only the chosen branch of if()', () => {
    expect(ev('if(true, 1, 1/0)')).toBe(1)
    expect(ev('if(false, 1/0, 2)')).toBe(2)
    expect(ev("if(quantity > 1, 'many', 'one')", order)).toBe('many')
    expect(ev("if(missing, 'x')")).toBeNull()
    expect(ev("if('false', 'yes', 'no')")).toBe('no')
  })

  it('returns the first non-empty value from coalesce(), lazily', () => {
    expect(ev("coalesce(missing, note, 'n/a')", order)).toBe('n/a')
    expect(ev("coalesce(status, 1/0)", order)).toBe('shipped')
    expect(ev('coalesce(missing, 0)')).toBe(0)
    expect(ev('coalesce(missing)')).toBeNull()
  })

  it('tests emptiness', () => {
    expect(ev('isEmpty(missing)')).toBe(true)
    expect(ev("isEmpty('')")).toBe(true)
    expect(ev("isEmpty('  ')")).toBe(true)
    expect(ev("isEmpty('x')")).toBe(false)
    expect(ev('isEmpty(0)')).toBe(false)
  })
})

describe('date functions', () => {
  it('parses ISO dates and timestamps into YYYY-MM-DD', () => {
    expect(ev("date('2024-03-01')")).toBe('2024-03-01')
    expect(ev("date(' 2024-03-01T10:20:30Z ')")).toBe('2024-03-01')
    expect(ev("date('2024-03-01T10:20:30.123+02:00')")).toBe('2024-03-01')
    // The date as written, not converted to UTC.
    expect(ev("date('2024-03-01T23:30:00-05:00')")).toBe('2024-03-01')
    expect(ev("date('2024-03-01 08:00')")).toBe('2024-03-01')
    expect(ev('date(d)', { d: new Date(Date.UTC(2020, 1, 29, 12)) })).toBe('2020-02-29')
    expect(ev('date(missing)')).toBeNull()
  })

  it('rejects values that are not dates', () => {
    for (const bad of ['nope', '2024-02-30', '2023-02-29', '2024-13-01', '2024-1-5', '01/02/2024', '2024-03-01T25:00:00']) {
      expect(runtimeErrorOf('date(d)', { d: bad }).message).toContain('is not a date')
    }
    expect(runtimeErrorOf('year(20240301)').message).toContain('year(): 20240301 is not a date')
  })

  it('extracts parts', () => {
    const rec = { d: '2024-02-29T13:00:00Z' }
    expect(ev('year(d)', rec)).toBe(2024)
    expect(ev('month(d)', rec)).toBe(2)
    expect(ev('day(d)', rec)).toBe(29)
    expect(ev('year(missing)')).toBeNull()
  })

  it('counts and adds days across months, leap years and years', () => {
    expect(ev("daysBetween('2024-01-01', '2024-03-01')")).toBe(60)
    expect(ev("daysBetween('2023-01-01', '2023-03-01')")).toBe(59)
    expect(ev("daysBetween('2024-03-01', '2024-01-01')")).toBe(-60)
    expect(ev("daysBetween('2024-01-01T23:00:00Z', '2024-01-02T01:00:00Z')")).toBe(1)
    expect(ev("daysBetween('1999-12-31', '2000-01-01')")).toBe(1)
    expect(ev("addDays('2024-02-28', 1)")).toBe('2024-02-29')
    expect(ev("addDays('2023-02-28', 1)")).toBe('2023-03-01')
    expect(ev("addDays('2023-12-31', '1')")).toBe('2024-01-01')
    expect(ev("addDays('2024-03-01', -1)")).toBe('2024-02-29')
    expect(ev("addDays('2000-01-01', 36525)")).toBe('2100-01-01')
    expect(ev("addDays('0050-06-15', 1)")).toBe('0050-06-16')
    expect(ev('addDays(missing, 1)')).toBeNull()
    expect(runtimeErrorOf("addDays('9999-12-31', 1)").message).toContain('out of range')
  })

  it('knows today and now (UTC)', () => {
    const before = new Date().toISOString()
    const today = ev('today()') as string
    const now = ev('now()') as string
    const after = new Date().toISOString()
    expect(today).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect([before.slice(0, 10), after.slice(0, 10)]).toContain(today)
    expect(now >= before && now <= after).toBe(true)
    expect(ev('daysBetween(today(), addDays(today(), 7))')).toBe(7)
  })
})

describe('isTruthy', () => {
  it('follows spreadsheet truthiness', () => {
    for (const v of [null, undefined, '', false, 0, -0, NaN, 'false', 'FALSE', 'False', '0']) expect(isTruthy(v)).toBe(false)
    for (const v of [true, 1, -1, 'x', 'true', 'no', ' ', '0.0', {}, []]) expect(isTruthy(v)).toBe(true)
  })
})

describe('FUNCTION_NAMES', () => {
  it('lists every function, including col', () => {
    for (const name of ['round', 'upper', 'if', 'coalesce', 'oneOf', 'daysBetween', 'addDays', 'col', 'padStart', 'split']) {
      expect(FUNCTION_NAMES).toContain(name)
    }
    expect([...FUNCTION_NAMES].sort()).toEqual(FUNCTION_NAMES)
    expect(Object.isFrozen(FUNCTION_NAMES)).toBe(true)
  })

  it('compiles a call of every listed function with suitable arguments', () => {
    // Guards against a name listed without an implementation.
    for (const name of FUNCTION_NAMES) {
      const msg = (() => {
        try {
          compileExpression(`${name}()`)
          return ''
        } catch (e) {
          return (e as Error).message
        }
      })()
      expect(msg).not.toContain('unknown function')
    }
  })
})

describe('the compiled expression', () => {
  it('is frozen and keeps its source', () => {
    const expr = compileExpression('a + 1')
    expect(expr.source).toBe('a + 1')
    expect(Object.isFrozen(expr)).toBe(true)
    expect(Object.isFrozen(expr.columns)).toBe(true)
  })

  it('can be compiled many times (jsep is configured once)', () => {
    for (let i = 0; i < 3; i++) expect(ev("a and b in ('x')", { a: 1, b: 'x' })).toBe(true)
  })

  it("leaves jsep's output unchanged for other code that uses it", () => {
    compileExpression('a')
    expect(JSON.parse(JSON.stringify(jsep('(a + 1) * f(b)')))).toEqual({
      type: 'BinaryExpression',
      operator: '*',
      left: {
        type: 'BinaryExpression',
        operator: '+',
        left: { type: 'Identifier', name: 'a' },
        right: { type: 'Literal', value: 1, raw: '1' }
      },
      right: { type: 'CallExpression', arguments: [{ type: 'Identifier', name: 'b' }], callee: { type: 'Identifier', name: 'f' } }
    })
  })

  it('evaluates many records quickly (sanity run, no timing asserted)', () => {
    const derive = compileExpression('round(amount * quantity, 2)')
    const filter = compileExpression("status != 'cancelled'")
    const recs: Rec[] = []
    for (let i = 0; i < 100; i++) {
      recs.push({ amount: String(i + 0.25), quantity: String(i % 7), status: i % 10 === 0 ? 'cancelled' : 'shipped' })
    }
    let total = 0
    let kept = 0
    for (let i = 0; i < 200_000; i++) {
      const rec = recs[i % 100] as Rec
      total += derive.evaluate(rec) as number
      if (isTruthy(filter.evaluate(rec))) kept++
    }
    expect(kept).toBe(180_000)
    expect(derive.evaluate({ amount: '19.99', quantity: '3' })).toBe(59.97)
    expect(total).toBeGreaterThan(0)
  })
})
