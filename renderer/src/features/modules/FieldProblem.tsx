/** The problems the box's rules find with one field, shown beside it (its `aria-describedby`). */
export function FieldProblem({ id, messages }: { id: string; messages: string[] | undefined }) {
  if (!messages) return null;
  return (
    <span id={id} className="field-problem error">
      ✗ {messages.join(' ')}
    </span>
  );
}
