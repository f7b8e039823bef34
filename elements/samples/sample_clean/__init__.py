"""sample-clean: a lab-like Element with one module and no linking module.

Modelled on element-lab: every name its tables reference is defined in the
module itself, so the check needs no mocks. It must pass on DataJoint 0.14 and
2.x alike.
"""
