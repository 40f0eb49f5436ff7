/** A zod union's own message when the value is of neither type (zod alone says "Invalid input"). */
export const unionMessage = (message: string) => ({ errorMap: () => ({ message }) });
