// Each screen keeps its strings in its own file; French must have exactly English's keys
// (the compiler checks the shape, i18n.test.ts the placeholders).
export type Shape<T> = { [K in keyof T]: T[K] extends string ? string : Shape<T[K]> };

export interface Messages<T> {
  en: T;
  fr: Shape<T>;
}

export function defineMessages<T>(en: T, fr: Shape<T>): Messages<T> {
  return { en, fr };
}
