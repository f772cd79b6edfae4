"""The visible signature: the agency's stamp with Vietnamese text and the QR seal.

``font`` prepares an embedded font subset once per process, ``qr`` turns the
seal URL into vector modules, ``appearance`` lays both out as the signature
widget's appearance stream (a pyHanko stamp style).
"""
