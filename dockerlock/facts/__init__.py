"""Facts about a Dockerfile that rules read: shell commands, images, copies, environments,
pip stanzas, locks and locked steps. Computed from the model and the frozen build context;
nothing here touches the file system or decides a finding."""
