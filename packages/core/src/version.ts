/** This `@tip/core`'s version, matched against plugins' `core` ranges. Kept equal to package.json by a test. */
export const CORE_VERSION = '0.2.0';
