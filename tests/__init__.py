"""ketqua's test suite: real peers (validators, SoftHSM2, a TSA/OCSP/CRL server), no mocks."""
