import { useId, type TextareaHTMLAttributes } from 'react';

/**
 * A labelled text area. The label is tied by id rather than wrapped around the area, so the
 * field's name stays its label and never grows with what is typed in it.
 */
export function TextAreaField({
  label,
  value,
  onChange,
  ...rest
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
} & Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'value' | 'onChange' | 'id'>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        value={value}
        onChange={(event) => onChange(event.target.value)}
        {...rest}
      />
    </div>
  );
}
