"""WTForms classes: shape and format of input only; no queries."""
