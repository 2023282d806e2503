"""Example request files (routine_request_NN.xml) that the user simulator submits."""
