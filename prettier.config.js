// One format, checked in lint: 120 columns as the code was written, single quotes, trailing commas.
export default {
  printWidth: 120,
  singleQuote: true,
  trailingComma: 'all',
  arrowParens: 'always',
};
