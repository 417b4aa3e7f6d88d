import { detailProblems, type ApiError } from '../../api/client.ts';

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
