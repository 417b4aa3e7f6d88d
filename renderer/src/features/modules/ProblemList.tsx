import type { ApiError } from '../../api/client.ts';

/** The problems the box named in an error's details (`{ fields: [{ field, message }] }`). */
export function detailProblems(error: ApiError | null): { field: string; message: string }[] {
  const fields = error?.details.fields;
  return Array.isArray(fields) ? (fields as { field: string; message: string }[]) : [];
}

/** Each field the box refused and why, under its error message. */
export function ProblemList({ error }: { error: ApiError | null }) {
  const problems = detailProblems(error);
  if (problems.length === 0) return null;
  return (
    <ul className="problems" aria-label="Problems the box found">
      {problems.map((problem) => (
        <li key={`${problem.field}:${problem.message}`}>
          <code>{problem.field}</code>: {problem.message}
        </li>
      ))}
    </ul>
  );
}
