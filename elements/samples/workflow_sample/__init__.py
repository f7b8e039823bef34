"""Sample: a lab's pipeline in the style of DataJoint's workflow repositories."""
