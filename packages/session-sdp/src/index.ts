// Filled by the package's issue; the package stays private until then.
export {};
