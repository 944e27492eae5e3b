/** The checks Prometheus' parser makes of calls and binary operations (parser/parse.go's checkAST). Pure. */
import {
  isComparison,
  isSetOperator,
  typeOf,
  type BinaryOp,
  type Expr,
  type FunctionSignature,
  type VectorMatching,
} from './ast.js';

/** Why `count` arguments do not fit the function `name`, or undefined when they do. */
export function arityError(name: string, signature: FunctionSignature, count: number): string | undefined {
  const fixed = signature.args.length;
  if (signature.variadic === undefined)
    return count === fixed
      ? undefined
      : `expected ${fixed} argument(s) in call to ${JSON.stringify(name)}, got ${count}`;
  if (count < fixed - 1)
    return `expected at least ${fixed - 1} argument(s) in call to ${JSON.stringify(name)}, got ${count}`;
  if (signature.variadic > 0 && count > fixed - 1 + signature.variadic)
    return `expected at most ${fixed - 1 + signature.variadic} argument(s) in call to ${JSON.stringify(name)}, got ${count}`;
  return undefined;
}

/** A binary operation, checked as Prometheus checks it; `fail` makes the error for a refusal. */
export function binaryExpression(
  op: BinaryOp,
  lhs: Expr,
  rhs: Expr,
  returnBool: boolean,
  matching: VectorMatching,
  fail: (message: string) => Error,
): Expr {
  const [lt, rt] = [typeOf(lhs), typeOf(rhs)];
  if (returnBool && !isComparison(op)) throw fail('bool modifier can only be used on comparison operators');
  if (isComparison(op) && !returnBool && lt === 'scalar' && rt === 'scalar')
    throw fail('comparisons between scalars must use BOOL modifier');
  const card = isSetOperator(op) && matching.card === 'one-to-one' ? 'many-to-many' : matching.card;
  for (const label of matching.include) {
    if (matching.on && matching.labels.includes(label))
      throw fail(`label ${JSON.stringify(label)} must not occur in ON and GROUP clause at once`);
  }
  if (lt !== 'scalar' && lt !== 'vector')
    throw fail('binary expression must contain only scalar and instant vector types');
  if (rt !== 'scalar' && rt !== 'vector')
    throw fail('binary expression must contain only scalar and instant vector types');
  if (lt !== 'vector' || rt !== 'vector') {
    if (matching.labels.length > 0) throw fail('vector matching only allowed between instant vectors');
    if (isSetOperator(op)) throw fail(`set operator ${JSON.stringify(op)} not allowed in binary scalar expression`);
    return { kind: 'binary', op, lhs, rhs, returnBool };
  }
  if (isSetOperator(op) && (card === 'one-to-many' || card === 'many-to-one'))
    throw fail(`no grouping allowed for ${JSON.stringify(op)} operation`);
  return { kind: 'binary', op, lhs, rhs, returnBool, matching: { ...matching, card } };
}
