"""Types > Check Scheduler: the conformance kit on the selected scheduler node, in a panel."""
